package tandem.orchestrator.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.BehaviorInterceptor;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.TypedActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobState;
import tandem.api.v1.TrainingEvent;
import tandem.model.spec.TrainingPlan;
import tandem.orchestrator.checkpoint.CheckpointSettings;
import tandem.orchestrator.checkpoint.JobDirectory;
import tandem.worker.Worker;

/**
 * Fault injection for the coordinator's waits on its shared-parameter actor (the waits on workers
 * are in {@link CoordinatorWaitsTest}): the real actor, behind an interceptor that loses one kind
 * of request, so that its reply never comes. The job fails within a bounded time naming what it
 * waited for; it never hangs.
 */
class SharedParameterWaitsTest {

  private static final ActorTestKit testKit = ShortTimeouts.testKit();
  private static final Duration ENDS_WITHIN = ShortTimeouts.ENDS_WITHIN;
  private static final AtomicInteger jobs = new AtomicInteger();

  @TempDir
  Path temp;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** A job over stand-in workers "a" and "b", its shared-parameter actor made by {@code actor}. */
  private static final class Job {
    final String jobId = "parameter-waits-" + jobs.incrementAndGet();
    final JobRecord record;
    final ActorRef<Coordinator.Command> coordinator;

    Job(TrainingPlan plan, UnaryOperator<Behavior<SharedParameters.Command>> actor,
        JobDirectory directory) {
      record = new JobRecord(jobId, plan.spec(), new EventLog(jobId, "tiny", 100_000,
          Instant.now()));
      ActorRef<Worker.Command> a = testKit.spawn(StandInWorker.create("a", Set.of(), false, null));
      ActorRef<Worker.Command> b = testKit.spawn(StandInWorker.create("b", Set.of(), false, null));
      coordinator = testKit.spawn(Coordinator.create(record, plan, List.of(a, b),
          List.of("a", "b"), directory, directory == null ? null
              : new CheckpointSettings(directory.path().getParent(), 1000, Duration.ZERO,
                  Duration.ZERO, false,
                  10_000),
          null, DispatcherSelector.defaultDispatcher(), actor), jobId);
    }

    /** See {@link ShortTimeouts#ended}. */
    JobFinished ended() {
      return ShortTimeouts.ended(testKit, coordinator, record);
    }

    List<TrainingEvent> events() {
      return record.events().read(0, Integer.MAX_VALUE).events();
    }
  }

  /** The real shared-parameter actor, except that requests of a kind in {@code lose} go to
   * {@code lost} instead: their replies never come. */
  private static UnaryOperator<Behavior<SharedParameters.Command>> losing(
      Set<Class<? extends SharedParameters.Command>> lose,
      ActorRef<SharedParameters.Command> lost) {
    return real -> Behaviors.intercept(() -> new Losing(lose, lost), real);
  }

  private static final class Losing
      extends BehaviorInterceptor<SharedParameters.Command, SharedParameters.Command> {
    private final Set<Class<? extends SharedParameters.Command>> lose;
    private final ActorRef<SharedParameters.Command> lost;

    Losing(Set<Class<? extends SharedParameters.Command>> lose,
        ActorRef<SharedParameters.Command> lost) {
      super(SharedParameters.Command.class);
      this.lose = lose;
      this.lost = lost;
    }

    @Override
    public Behavior<SharedParameters.Command> aroundReceive(
        TypedActorContext<SharedParameters.Command> context, SharedParameters.Command message,
        ReceiveTarget<SharedParameters.Command> target) {
      if (lose.contains(message.getClass())) {
        lost.tell(message);
        return Behaviors.same();
      }
      return target.apply(context, message);
    }
  }

  private static void assertFailedWith(JobFinished finished, String expected) {
    assertEquals(JobState.JOB_STATE_FAILED, finished.getState(), finished.getMessage());
    assertTrue(finished.getMessage().contains(expected), finished.getMessage());
  }

  @Test
  void aLostFinalTrunkFailsTheJobNamingTheSharedParameterActor() {
    TestProbe<SharedParameters.Command> lost = testKit.createTestProbe();
    Job job = new Job(TinyJobs.plan("mean", 4, 1),
        losing(Set.of(SharedParameters.GetParameters.class), lost.ref()), null);
    lost.expectMessageClass(SharedParameters.GetParameters.class, ENDS_WITHIN);
    assertFailedWith(job.ended(), "timed out after 3s waiting for the trained shared modules"
        + " from the shared-parameter actor");
    assertTrue(job.events().stream().anyMatch(TrainingEvent::hasEvaluationCompleted),
        "the job reached its final collection");
    assertNull(job.record.trainedParameters(), "no trained parameters without the trunk");
  }

  @Test
  void aLostSharedStateFailsTheCheckpointingJobNamingTheSharedParameterActor() {
    TestProbe<SharedParameters.Command> lost = testKit.createTestProbe();
    JobDirectory directory = new JobDirectory(temp, "parameter-waits-checkpoint");
    Job job = new Job(TinyJobs.plan("mean", 2, 1),
        losing(Set.of(SharedParameters.GetState.class), lost.ref()), directory);
    lost.expectMessageClass(SharedParameters.GetState.class, ENDS_WITHIN);
    assertFailedWith(job.ended(), "timed out after 3s waiting for the shared modules' state"
        + " from the shared-parameter actor for the checkpoint at step 2");
    assertFalse(job.events().stream().anyMatch(TrainingEvent::hasCheckpointWritten),
        "no checkpoint without the shared state");
    assertTrue(directory.finished(), "a failed job is marked finished");
  }

  @Test
  void aLostRoundAnnouncementFailsTheJobNamingTheGradientNotApplied() {
    // Without its size the sync round never completes: no new version is ever reported.
    TestProbe<SharedParameters.Command> lost = testKit.createTestProbe();
    Job job = new Job(TinyJobs.plan("mean", 4, 1),
        losing(Set.of(SharedParameters.ExpectRound.class), lost.ref()), null);
    lost.expectMessageClass(SharedParameters.ExpectRound.class, ENDS_WITHIN);
    assertFailedWith(job.ended(), "timed out after 3s waiting for the shared-parameter actor to"
        + " apply the gradient of step 1 of task 'binary_plus1' (trunk version 0; a sync round");
  }

  @Test
  void aSharedParameterActorThatNeverReportsReadyFailsTheStartingJob() {
    Job job = new Job(TinyJobs.plan("mean", 4, 1), real -> Behaviors.ignore(), null);
    assertFailedWith(job.ended(), "timed out after 3s waiting for the job's shared-parameter"
        + " actor to start");
    assertFalse(job.events().stream().anyMatch(TrainingEvent::hasJobStarted),
        "the job never started");
  }
}
