package tandem.orchestrator.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
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
import tandem.api.v1.ConsistencySpec;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.StopCondition;
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
  // A worker thread as the server configures one (one thread, its throughput and deadline).
  private static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.parseString(
      THREAD + " = ${tandem.orchestrator.worker-thread}\n"
          // Only the manager's check can end the job: the step timeout is far away.
          + "tandem.orchestrator { coordinator-answer-timeout = 2s, step-timeout = 1h }")
      .withFallback(ConfigFactory.load()).resolve());
  private static final Duration WAIT = Duration.ofSeconds(60);

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** What a stand-in worker's step does with the worker's thread. */
  @FunctionalInterface
  private interface Step {
    void run() throws InterruptedException;
  }

  /**
   * A worker that takes its tasks and, for each step, counts {@code stepping} down and runs
   * {@code step} on its thread; it never answers a step.
   */
  private static Behavior<Worker.Command> standIn(String name, CountDownLatch stepping,
      Step step) {
    return Behaviors.receive(Worker.Command.class)
        .onMessage(Worker.AssignTasks.class, assign -> {
          assign.replyTo().tell(new Worker.Assigned(assign.assignment().jobId(), name,
              assign.assignment().tasks()));
          return Behaviors.same();
        })
        .onMessage(Worker.RunStep.class, message -> {
          stepping.countDown();
          step.run();
          return Behaviors.same();
        })
        .onAnyMessage(message -> Behaviors.same())
        .build();
  }

  /** Blocks until {@code release}, however long. */
  private static Step blockedUntil(CountDownLatch release) {
    return () -> release.await(WAIT.toSeconds(), TimeUnit.SECONDS);
  }

  /** Takes until the test releases a permit of {@code steps}, and computes for 20ms at least. */
  private static Step gatedBy(Semaphore steps) {
    return () -> {
      long start = System.nanoTime();
      steps.tryAcquire(WAIT.toSeconds(), TimeUnit.SECONDS);
      // Longer than the worker thread's 10ms deadline.
      long left;
      while ((left = start + 20_000_000 - System.nanoTime()) > 0) {
        java.util.concurrent.locks.LockSupport.parkNanos(left);
      }
    };
  }

  @Test
  void aJobWhoseWorkerThreadNeverReturnsFailsNamingThatWorkerAndTheManagerGoesOn()
      throws Exception {
    CountDownLatch stepping = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    try {
      ActorRef<Worker.Command> stuck = testKit.spawn(
          standIn("stuck", stepping, blockedUntil(release)), "stuck",
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

  /**
   * The coordinator, on its worker's thread, gets a turn once a step of the worker's has run
   * past the thread's deadline (10ms), not only after the worker's 8 messages: a cancel sent
   * while 16 async steps wait in the worker's mailbox ends the job after the step then running.
   */
  @Test
  void aCancelEndsTheJobAfterTheRunningStepNotAfterTheWorkersWholeTurn() {
    Semaphore steps = new Semaphore(0);
    CountDownLatch stepping = new CountDownLatch(1);
    try {
      ActorRef<Worker.Command> slow = testKit.spawn(standIn("slow", stepping, gatedBy(steps)),
          "slow", DispatcherSelector.fromConfig(THREAD));
      JobStore store = new JobStore();
      ActorRef<JobManager.Command> manager = testKit.spawn(JobManager.create(store,
          List.of(new JobManager.WorkerHandle("slow", slow, THREAD)), 10_000));
      String jobId = start(manager, TinyJobs.spec()
          .setConsistency(ConsistencySpec.newBuilder().setMode("async").setStepsInFlight(16))
          .setStop(StopCondition.newBuilder().setMaxSteps(1_000)).build());
      assertTrue(stepping.await(WAIT.toSeconds(), TimeUnit.SECONDS), "no step came");
      TestProbe<JobManager.Outcome> reply = testKit.createTestProbe();
      manager.tell(new JobManager.CancelJob(jobId, reply.ref()));
      // Answered after the manager handled the cancel: the coordinator has it in its mailbox.
      TestProbe<JobManager.Outcome> fence = testKit.createTestProbe();
      manager.tell(new JobManager.CancelJob("job-9999", fence.ref()));
      fence.expectMessage(WAIT, JobManager.Outcome.UNKNOWN_JOB);
      steps.release(); // the first step ends; the next one waits for a release that never comes
      reply.expectMessage(Duration.ofSeconds(20), JobManager.Outcome.ACCEPTED);
      assertEquals(JobState.JOB_STATE_CANCELLED, finished(store, jobId).getState());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    } finally {
      steps.release(1_000);
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
