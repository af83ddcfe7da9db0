package tandem.orchestrator.job;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import tandem.api.v1.JobFinished;
import tandem.api.v1.TrainingEvent;

/**
 * What the coordinator's fault-injection tests ({@link CoordinatorWaitsTest}, {@link
 * SharedParameterWaitsTest}) share: a test kit whose waits time out after 3 s, and the final
 * event of a job whose coordinator must stop well within {@link #ENDS_WITHIN}.
 */
final class ShortTimeouts {

  static final Duration ENDS_WITHIN = Duration.ofSeconds(20);

  private ShortTimeouts() {}

  /** A test kit with every coordinator wait at 3 s (a checkpoint write at 10 s). */
  static ActorTestKit testKit() {
    return ActorTestKit.create(ConfigFactory.parseString(
        "tandem.orchestrator { assign-timeout = 3s, step-timeout = 3s, evaluate-timeout = 3s,"
            + " collect-timeout = 3s, checkpoint-collect-timeout = 3s,"
            + " checkpoint-write-timeout = 10s, sync-rounds-out = 2 }")
        .withFallback(ConfigFactory.load()));
  }

  /** The job's final event, once {@code coordinator} stopped (within {@link #ENDS_WITHIN}). */
  static JobFinished ended(ActorTestKit testKit, ActorRef<?> coordinator, JobRecord record) {
    testKit.createTestProbe().expectTerminated(coordinator, ENDS_WITHIN);
    List<TrainingEvent> events = record.events().read(0, Integer.MAX_VALUE).events();
    TrainingEvent last = events.get(events.size() - 1);
    assertTrue(last.hasJobFinished(), "last event " + last);
    return last.getJobFinished();
  }
}
