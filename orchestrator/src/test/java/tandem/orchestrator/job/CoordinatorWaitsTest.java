package tandem.orchestrator.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobState;
import tandem.api.v1.TrainingEvent;
import tandem.model.spec.TrainingPlan;
import tandem.orchestrator.checkpoint.CheckpointSettings;
import tandem.orchestrator.checkpoint.CheckpointWriter;
import tandem.orchestrator.checkpoint.JobDirectory;
import tandem.worker.Worker;

/**
 * Fault injection for every wait of the coordinator: {@link StandInWorker}s that lose one kind of
 * reply. The job fails naming what it waited for and from whom, or recovers (a worker lost
 * mid-evaluation); it never hangs. Also an exception inside the coordinator, checkpoint writes
 * that fail, and the finished mark that comes before job_finished.
 */
class CoordinatorWaitsTest {

  private static final ActorTestKit testKit = ShortTimeouts.testKit();
  private static final Duration ENDS_WITHIN = ShortTimeouts.ENDS_WITHIN;
  private static final AtomicInteger jobs = new AtomicInteger();

  @TempDir
  Path temp;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** A job over stand-ins "a" and "b"; {@code swallowed} gets what b swallows. */
  private static final class Job {
    final String jobId = "waits-" + jobs.incrementAndGet();
    final JobRecord record;
    final ActorRef<Worker.Command> a;
    final ActorRef<Worker.Command> b;
    final ActorRef<Coordinator.Command> coordinator;

    Job(TrainingPlan plan, Set<Class<?>> loseA, Set<Class<?>> loseB, boolean badMetrics,
        TestProbe<Worker.Command> swallowed, JobDirectory directory, long checkpointEvery) {
      record = new JobRecord(jobId, plan.spec(), new EventLog(jobId, "tiny", 100_000,
          Instant.now()));
      a = testKit.spawn(StandInWorker.create("a", loseA, badMetrics, null));
      b = testKit.spawn(StandInWorker.create("b", loseB, false,
          swallowed == null ? null : swallowed.ref()));
      coordinator = testKit.spawn(Coordinator.create(record, plan, List.of(a, b),
          List.of("a", "b"), directory, directory == null ? null
              : new CheckpointSettings(directory.path().getParent(), checkpointEvery,
                  Duration.ZERO, Duration.ZERO, false, 10_000), null), jobId);
    }

    Job(TrainingPlan plan, Set<Class<?>> loseA, Set<Class<?>> loseB) {
      this(plan, loseA, loseB, false, null, null, 0);
    }

    JobFinished ended() {
      return ShortTimeouts.ended(testKit, coordinator, record);
    }

    List<TrainingEvent> events() {
      return record.events().read(0, Integer.MAX_VALUE).events();
    }
  }

  private static void assertFailedWith(JobFinished finished, String expected) {
    assertEquals(JobState.JOB_STATE_FAILED, finished.getState(), finished.getMessage());
    assertTrue(finished.getMessage().contains(expected), finished.getMessage());
  }

  @Test
  void aLostAssignmentReplyFailsTheJobNamingTheWorker() {
    Job job = new Job(TinyJobs.plan("mean", 4, 1), Set.of(Worker.AssignTasks.class), Set.of());
    JobFinished finished = job.ended();
    assertFailedWith(finished, "timed out after 3s waiting for worker");
    assertTrue(finished.getMessage().contains("'a'"), finished.getMessage());
    assertTrue(finished.getMessage().contains("did not all take their tasks within PT3S"),
        finished.getMessage());
  }

  @Test
  void aLostStepOutcomeFailsTheJobNamingTheStepItsTaskAndWorker() {
    Job job = new Job(TinyJobs.plan("mean", 4, 1), Set.of(), Set.of(Worker.RunStep.class));
    assertFailedWith(job.ended(), "timed out after 3s waiting for the outcome of step 2 of task"
        + " 'binary_times2' from worker 'b'");
  }

  @Test
  void aSyncRoundWhoseGradientNeverComesFailsTheJobNamingTheRound() {
    Job job = new Job(TinyJobs.plan("mean", 4, 1), Set.of(),
        Set.of(Worker.SharedGradients.class));
    assertFailedWith(job.ended(), "timed out after 3s waiting for the shared-parameter actor to"
        + " apply the gradient of step 1 of task 'binary_plus1' (trunk version 0; a sync round");
  }

  @Test
  void aLostEvaluationFailsTheJobNamingTheWorkerAndItsTask() {
    Job job = new Job(TinyJobs.plan("mean", 4, 1), Set.of(), Set.of(Worker.Evaluate.class));
    assertFailedWith(job.ended(), "timed out after 3s waiting for the evaluation of task"
        + " 'binary_times2' from worker 'b'");
  }

  @Test
  void lostFinalHeadsFailTheJobNamingTheWorker() {
    Job job = new Job(TinyJobs.plan("mean", 4, 1), Set.of(Worker.GetHeads.class), Set.of());
    assertFailedWith(job.ended(), "timed out after 3s waiting for the trained heads of task"
        + " 'binary_plus1' from worker 'a'");
  }

  @Test
  void aLostTaskStateFailsTheCheckpointingJobNamingTheWorker() {
    JobDirectory directory = new JobDirectory(temp, "waits-checkpoint");
    Job job = new Job(TinyJobs.plan("mean", 2, 1), Set.of(),
        Set.of(Worker.GetTaskState.class), false, null, directory, 1000);
    assertFailedWith(job.ended(), "timed out after 3s waiting for the task state of worker 'b'"
        + " for the checkpoint at step 2");
    assertTrue(directory.finished(), "a failed job is marked finished");
  }

  @Test
  void aWorkerLostDuringEvaluationHasItsTasksMovedAndTheJobSucceeds() {
    TestProbe<Worker.Command> swallowed = testKit.createTestProbe();
    Job job = new Job(TinyJobs.plan("mean", 4, 1), Set.of(), Set.of(Worker.Evaluate.class),
        false, swallowed, null, 0);
    swallowed.expectMessageClass(Worker.Evaluate.class, ENDS_WITHIN);
    testKit.stop(job.b);
    JobFinished finished = job.ended();
    assertEquals(JobState.JOB_STATE_SUCCEEDED, finished.getState(), finished.getMessage());
    List<TrainingEvent> events = job.events();
    assertTrue(events.stream().anyMatch(TrainingEvent::hasTasksMoved), "tasks moved");
    TrainingEvent evaluation = events.stream().filter(TrainingEvent::hasEvaluationCompleted)
        .findFirst().orElseThrow();
    assertEquals(2, evaluation.getEvaluationCompleted().getEvaluationsCount(),
        "a evaluated both tasks");
    assertNotNull(job.record.trainedParameters());
  }

  @Test
  void anExceptionInsideTheCoordinatorFailsTheJobCleanlyAndTheNextJobTrains() {
    // a's evaluation names an output its task does not have: the coordinator throws on it.
    Job broken = new Job(TinyJobs.plan("mean", 4, 1), Set.of(), Set.of(), true, null, null, 0);
    assertFailedWith(broken.ended(), "internal error in the job's coordinator: "
        + "java.util.NoSuchElementException");
    Job next = new Job(TinyJobs.plan("mean", 4, 1), Set.of(), Set.of());
    JobFinished finished = next.ended();
    assertEquals(JobState.JOB_STATE_SUCCEEDED, finished.getState(), finished.getMessage());
  }

  @Test
  void aFailedCheckpointWriteIsReportedAndTheNextOneIsWritten() throws Exception {
    // The job's directory cannot be made while a file stands where its parent should be.
    Path parent = temp.resolve("jobs");
    Files.writeString(parent, "in the way");
    JobDirectory directory = new JobDirectory(parent, "waits-write");
    Job job = new Job(TinyJobs.plan("mean", 1_000_000, 1), Set.of(), Set.of(), false, null,
        directory, 2);
    TestProbe<JobManager.Outcome> cancelled = testKit.createTestProbe();
    cancelled.awaitAssert(ENDS_WITHIN, () -> {
      assertTrue(job.events().stream().anyMatch(TrainingEvent::hasCheckpointFailed));
      return null;
    });
    TrainingEvent failed = job.events().stream().filter(TrainingEvent::hasCheckpointFailed)
        .findFirst().orElseThrow();
    assertTrue(failed.getCheckpointFailed().getReason().contains("jobs"),
        failed.getCheckpointFailed().getReason());
    Files.delete(parent);
    cancelled.awaitAssert(ENDS_WITHIN, () -> {
      assertTrue(job.events().stream().anyMatch(e -> e.hasCheckpointWritten()
          && e.getCheckpointWritten().getStep() > failed.getCheckpointFailed().getStep()));
      return null;
    });
    assertFalse(job.record.events().complete(), "the job trained on");

    // The job's writer is busy (it is the same one the coordinator holds): cancel marks the
    // directory finished after it, and only then publishes job_finished.
    CheckpointWriter writer = CheckpointWriter.acquire(directory);
    CountDownLatch busy = new CountDownLatch(1);
    writer.submit(d -> busy.await(ENDS_WITHIN.toSeconds(), TimeUnit.SECONDS));
    job.coordinator.tell(new Coordinator.Cancel(cancelled.ref()));
    cancelled.expectNoMessage(Duration.ofMillis(300));
    assertFalse(job.record.events().complete(), "job_finished before the finished mark");
    busy.countDown();
    writer.release();
    assertEquals(JobManager.Outcome.ACCEPTED, cancelled.receiveMessage(ENDS_WITHIN));
    assertTrue(directory.finished(), "marked finished before job_finished");
    assertEquals(JobState.JOB_STATE_CANCELLED, job.ended().getState());
  }

  @Test
  void anEarlierCoordinatorsFinishedMarkDoesNotOutliveTheResumedJob() throws Exception {
    JobDirectory directory = new JobDirectory(temp, "waits-resumed");
    // The cancelled coordinator's mark, queued behind its checkpoint write, when the job is
    // resumed at once.
    CheckpointWriter earlier = CheckpointWriter.acquire(directory);
    CountDownLatch writing = new CountDownLatch(1);
    earlier.submit(d -> writing.await(ENDS_WITHIN.toSeconds(), TimeUnit.SECONDS));
    earlier.markFinished(JobState.JOB_STATE_CANCELLED.name());
    Job resumed = new Job(TinyJobs.plan("mean", 1_000_000, 1), Set.of(), Set.of(), false, null,
        directory, 1_000_000);
    TestProbe<JobManager.Outcome> cancelled = testKit.createTestProbe();
    cancelled.awaitAssert(ENDS_WITHIN, () -> {
      assertTrue(resumed.events().stream().anyMatch(TrainingEvent::hasStepCompleted));
      return null;
    });
    writing.countDown();
    earlier.release();
    // Whatever the writer had queued is done once this is.
    CheckpointWriter probe = CheckpointWriter.acquire(directory);
    probe.submit(d -> null).get(ENDS_WITHIN.toSeconds(), TimeUnit.SECONDS);
    probe.release();
    assertFalse(directory.finished(), "the resumed job's directory is marked finished");
    resumed.coordinator.tell(new Coordinator.Cancel(cancelled.ref()));
    assertEquals(JobManager.Outcome.ACCEPTED, cancelled.receiveMessage(ENDS_WITHIN));
    assertTrue(directory.finished());
  }
}
