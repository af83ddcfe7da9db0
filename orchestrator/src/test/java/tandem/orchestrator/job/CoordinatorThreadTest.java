package tandem.orchestrator.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.TrainingEvent;
import tandem.worker.Worker;

/**
 * Where a job's coordinator runs ({@link WorkerChoice#coordinatorProps}: on its first local
 * worker's thread) and the job manager's check that it still answers ({@link RunningJobs}): a
 * job whose worker's thread never returns from a step fails, naming that worker, although no
 * timeout of the coordinator's own can fire; the manager goes on with the next job.
 */
class CoordinatorThreadTest {

  private static final String THREAD = "tandem-test.blocked-thread";
  private static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.parseString(
      THREAD + " { type = Dispatcher, executor = thread-pool-executor,"
          + " thread-pool-executor.fixed-pool-size = 1, throughput = 8 }\n"
          // Only the manager's check can end the job: the step timeout is far away.
          + "tandem.orchestrator { coordinator-answer-timeout = 2s, step-timeout = 1h }")
      .withFallback(ConfigFactory.load()));
  private static final Duration WAIT = Duration.ofSeconds(60);

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** A worker that takes its tasks, then blocks its thread in its first step until released. */
  private static Behavior<Worker.Command> blockingWorker(String name, CountDownLatch stepping,
      CountDownLatch release) {
    return Behaviors.receive(Worker.Command.class)
        .onMessage(Worker.AssignTasks.class, assign -> {
          assign.replyTo().tell(new Worker.Assigned(assign.assignment().jobId(), name,
              assign.assignment().tasks()));
          return Behaviors.same();
        })
        .onMessage(Worker.RunStep.class, step -> {
          stepping.countDown();
          release.await(WAIT.toSeconds(), TimeUnit.SECONDS);
          return Behaviors.same();
        })
        .onAnyMessage(message -> Behaviors.same())
        .build();
  }

  @Test
  void aJobWhoseWorkerThreadNeverReturnsFailsNamingThatWorkerAndTheManagerGoesOn()
      throws Exception {
    CountDownLatch stepping = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    try {
      ActorRef<Worker.Command> stuck = testKit.spawn(
          blockingWorker("stuck", stepping, release), "stuck",
          DispatcherSelector.fromConfig(THREAD));
      JobStore store = new JobStore();
      ActorRef<JobManager.Command> manager = testKit.spawn(JobManager.create(store,
          List.of(new JobManager.WorkerHandle("stuck", stuck, THREAD)), 10_000));
      String first = start(manager, TinyJobs.spec().build());
      assertTrue(stepping.await(WAIT.toSeconds(), TimeUnit.SECONDS), "the first step never came");

      JobFinished failed = finished(store, first);
      assertEquals(JobState.JOB_STATE_FAILED, failed.getState());
      assertTrue(failed.getMessage().contains("coordinator did not answer for 2s")
          && failed.getMessage().contains("worker 'stuck'"), failed.getMessage());

      ActorRef<Worker.Command> healthy = testKit.spawn(Worker.create("healthy"), "healthy");
      manager.tell(new JobManager.WorkersChanged(
          List.of(new JobManager.WorkerHandle("healthy", healthy, null))));
      String second = start(manager, TinyJobs.spec().build());
      assertEquals(JobState.JOB_STATE_SUCCEEDED, finished(store, second).getState());
    } finally {
      release.countDown();
    }
  }

  @Test
  void aCoordinatorRunsOnItsFirstWorkersThreadOnlyWhenThatWorkerIsLocalAndTheSettingIsOn() {
    ActorRef<Worker.Command> ref = testKit.createTestProbe(Worker.Command.class).ref();
    var local = new JobManager.WorkerHandle("local", ref, THREAD);
    var remote = new JobManager.WorkerHandle("remote", ref, null);
    assertEquals(DispatcherSelector.fromConfig(THREAD),
        WorkerChoice.coordinatorProps(List.of(local, remote), true));
    assertEquals(Props.empty(), WorkerChoice.coordinatorProps(List.of(remote, local), true));
    assertEquals(Props.empty(), WorkerChoice.coordinatorProps(List.of(local), false));
  }

  private static String start(ActorRef<JobManager.Command> manager, JobSpec spec) {
    TestProbe<String> id = testKit.createTestProbe();
    manager.tell(new JobManager.StartJob(spec, TinyJobs.plan(spec), id.ref()));
    return id.expectMessageClass(String.class, WAIT);
  }

  /** The job's final event, once its log has one (within {@link #WAIT}). */
  private static JobFinished finished(JobStore store, String jobId) {
    EventLog log = store.find(jobId).orElseThrow().events();
    TestProbe<Object> probe = testKit.createTestProbe();
    return probe.awaitAssert(WAIT, Duration.ofMillis(50), () -> {
      List<TrainingEvent> events = log.read(0, Integer.MAX_VALUE).events();
      TrainingEvent last = events.get(events.size() - 1);
      assertTrue(last.hasJobFinished(), "still running: " + last);
      return last.getJobFinished();
    });
  }
}
