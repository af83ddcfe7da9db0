package tandem.orchestrator.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.ScheduleSpec;
import tandem.api.v1.StopCondition;
import tandem.api.v1.TrainingEvent;
import tandem.model.spec.TrainingPlan;
import tandem.orchestrator.checkpoint.Checkpoint;
import tandem.orchestrator.checkpoint.CheckpointSettings;
import tandem.orchestrator.checkpoint.JobDirectory;
import tandem.worker.Worker;

/**
 * The job manager over real workers and tiny jobs: submit, list, cancel, update and resume, and
 * its supervision (an exception restarts it with its running jobs kept).
 */
class JobManagerTest {

  private static final ActorTestKit testKit = ActorTestKit.create();
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final AtomicInteger managers = new AtomicInteger();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** A supervised manager over {@code workers} fresh workers of its own. */
  private static final class Manager {
    final JobStore store = new JobStore();
    final ActorRef<JobManager.Command> ref;
    final List<JobManager.WorkerHandle> workers;

    Manager(int workerCount, CheckpointSettings checkpoints, int minWorkers) {
      int n = managers.incrementAndGet();
      workers = java.util.stream.IntStream.range(0, workerCount).mapToObj(i -> {
        String name = "m" + n + "-worker-" + i;
        return new JobManager.WorkerHandle(name, testKit.spawn(Worker.create(name), name), null);
      }).toList();
      // With more than one worker required, it starts knowing one: jobs wait.
      ref = testKit.spawn(JobManager.supervised(store,
          minWorkers > 1 ? workers.subList(0, 1) : workers, 10_000, checkpoints, minWorkers),
          "jobs-" + n);
    }

    String start(JobSpec spec) {
      TestProbe<String> id = testKit.createTestProbe();
      ref.tell(new JobManager.StartJob(spec, TinyJobs.plan(spec), id.ref()));
      return id.expectMessageClass(String.class, WAIT);
    }

    JobManager.Outcome ask(java.util.function.Function<ActorRef<JobManager.Outcome>,
        JobManager.Command> command) {
      TestProbe<JobManager.Outcome> reply = testKit.createTestProbe();
      ref.tell(command.apply(reply.ref()));
      return reply.expectMessageClass(JobManager.Outcome.class, WAIT);
    }

    JobState state(String jobId) {
      return store.find(jobId).orElseThrow().events().status().getState();
    }

    /** Waits until {@code jobId}'s directory is marked finished (before the test deletes it). */
    void awaitFinishedMark(Path jobDir, String jobId) {
      testKit.createTestProbe().awaitAssert(WAIT, () -> {
        assertTrue(new JobDirectory(jobDir, jobId).finished(), jobId + " not marked finished");
        return null;
      });
    }

    TrainingEvent awaitEnd(String jobId) {
      TestProbe<Object> poll = testKit.createTestProbe();
      return poll.awaitAssert(WAIT, Duration.ofMillis(20), () -> {
        EventLog log = store.find(jobId).orElseThrow().events();
        assertTrue(log.complete(), jobId + " still running");
        List<TrainingEvent> events = log.read(0, Integer.MAX_VALUE).events();
        return events.get(events.size() - 1);
      });
    }
  }

  private static JobSpec steps(long maxSteps) {
    return TinyJobs.spec().setStop(StopCondition.newBuilder().setMaxSteps(maxSteps)).build();
  }

  @Test
  void submittedJobsGetConsecutiveIdsAreListedNewestFirstAndSucceed() {
    Manager manager = new Manager(2, null, 1);
    String first = manager.start(steps(4));
    String second = manager.start(steps(4));
    assertEquals(List.of("job-0001", "job-0002"), List.of(first, second));
    assertEquals(List.of(second, first),
        manager.store.all().stream().map(JobRecord::jobId).toList());
    assertEquals(JobState.JOB_STATE_SUCCEEDED,
        manager.awaitEnd(first).getJobFinished().getState());
    assertEquals(JobState.JOB_STATE_SUCCEEDED,
        manager.awaitEnd(second).getJobFinished().getState());
    assertTrue(manager.store.find(first).orElseThrow().trainedParameters() != null);
  }

  @Test
  void cancelEndsARunningJobOnceAndAnswersForUnknownAndEndedJobs() {
    Manager manager = new Manager(1, null, 1);
    assertEquals(JobManager.Outcome.UNKNOWN_JOB,
        manager.ask(reply -> new JobManager.CancelJob("job-0042", reply)));
    String jobId = manager.start(steps(50_000_000));
    assertEquals(JobManager.Outcome.ACCEPTED,
        manager.ask(reply -> new JobManager.CancelJob(jobId, reply)));
    assertEquals(JobState.JOB_STATE_CANCELLED,
        manager.awaitEnd(jobId).getJobFinished().getState());
    assertEquals(JobManager.Outcome.NOT_RUNNING,
        manager.ask(reply -> new JobManager.CancelJob(jobId, reply)));
    assertEquals(JobManager.Outcome.NOT_RUNNING, manager.ask(reply ->
        new JobManager.UpdateSchedule(jobId, ScheduleSpec.getDefaultInstance(), null, reply)));
    assertEquals(JobManager.Outcome.UNKNOWN_JOB, manager.ask(reply ->
        new JobManager.UpdateSchedule("job-0042", ScheduleSpec.getDefaultInstance(), null,
            reply)));
  }

  @Test
  void aJobWaitingForWorkersCancelsWithoutStartingAndIsMarkedFinished(@TempDir Path jobDir) {
    Manager manager = new Manager(2, settings(jobDir), 2);
    String waiting = manager.start(steps(4));
    assertEquals(JobState.JOB_STATE_PENDING, manager.state(waiting));
    assertEquals(JobManager.Outcome.ACCEPTED,
        manager.ask(reply -> new JobManager.CancelJob(waiting, reply)));
    assertEquals(JobState.JOB_STATE_CANCELLED, manager.state(waiting));
    TestProbe<Object> poll = testKit.createTestProbe();
    poll.awaitAssert(WAIT, () -> {
      assertTrue(new JobDirectory(jobDir, waiting).finished(), "marked finished on disk");
      return null;
    });
    // Enough workers now: the next job runs, the cancelled one never starts.
    manager.ref.tell(new JobManager.WorkersChanged(manager.workers));
    String next = manager.start(steps(4));
    assertEquals(JobState.JOB_STATE_SUCCEEDED, manager.awaitEnd(next).getJobFinished().getState());
    assertEquals(JobState.JOB_STATE_CANCELLED, manager.state(waiting));
    manager.awaitFinishedMark(jobDir, next);
  }

  @Test
  void aJobResumesFromItsCheckpointAndARunningOneIsNotResumedTwice(@TempDir Path jobDir)
      throws Exception {
    Manager manager = new Manager(1, settings(jobDir), 1);
    String jobId = manager.start(steps(8));
    assertEquals(JobState.JOB_STATE_SUCCEEDED,
        manager.awaitEnd(jobId).getJobFinished().getState());
    JobDirectory directory = new JobDirectory(jobDir, jobId);
    TestProbe<Object> poll = testKit.createTestProbe();
    poll.awaitAssert(WAIT, () -> {
      assertTrue(directory.finished());
      return null;
    });
    Checkpoint checkpoint = directory.readLatest().orElseThrow();
    assertEquals(8, checkpoint.step());
    TrainingPlan plan = TinyJobs.plan(checkpoint.spec().toBuilder()
        .setStop(StopCondition.newBuilder().setMaxSteps(50_000_000)).build());
    assertEquals(JobManager.Outcome.UNKNOWN_JOB,
        manager.ask(reply -> new JobManager.ResumeJob("../job-1", checkpoint, plan, reply)));
    assertEquals(JobManager.Outcome.ACCEPTED,
        manager.ask(reply -> new JobManager.ResumeJob(jobId, checkpoint, plan, reply)));
    assertEquals(JobManager.Outcome.ALREADY_RUNNING,
        manager.ask(reply -> new JobManager.ResumeJob(jobId, checkpoint, plan, reply)));
    poll.awaitAssert(WAIT, () -> {
      assertFalse(directory.finished(), "the finished mark is cleared");
      assertTrue(manager.store.find(jobId).orElseThrow().events().status().getStepsDone() > 8);
      return null;
    });
    List<TrainingEvent> events =
        manager.store.find(jobId).orElseThrow().events().read(0, Integer.MAX_VALUE).events();
    assertTrue(events.stream().anyMatch(TrainingEvent::hasJobResumed), "a job_resumed event");
    assertEquals(JobManager.Outcome.ACCEPTED,
        manager.ask(reply -> new JobManager.CancelJob(jobId, reply)));
    assertEquals(JobState.JOB_STATE_CANCELLED,
        manager.awaitEnd(jobId).getJobFinished().getState());
    manager.awaitFinishedMark(jobDir, jobId);
  }

  @Test
  void aResumeWithAGappedHistoryFailsThatJobWithTheReasonAndTheManagerGoesOn(
      @TempDir Path jobDir) throws Exception {
    Manager manager = new Manager(1, settings(jobDir), 1);
    String jobId = manager.start(steps(8));
    manager.awaitEnd(jobId);
    manager.awaitFinishedMark(jobDir, jobId);
    Checkpoint whole = new JobDirectory(jobDir, jobId).readLatest().orElseThrow();
    // A damaged history: event 3 is missing.
    List<TrainingEvent> events = new java.util.ArrayList<>(whole.events());
    events.remove(2);
    Checkpoint gapped = new Checkpoint(whole.jobId(), whole.spec(), whole.step(),
        whole.trunkVersion(), whole.examples(), whole.parameters(), whole.sharedOptimizers(),
        whole.headOptimizers(), whole.batchesDrawn(), whole.scheduleChanges(), events,
        whole.logState());
    manager.ask(reply -> new JobManager.ResumeJob(jobId, gapped, TinyJobs.plan(whole.spec()),
        reply));
    TrainingEvent end = manager.awaitEnd(jobId);
    assertEquals(JobState.JOB_STATE_FAILED, end.getJobFinished().getState());
    assertTrue(end.getJobFinished().getMessage().contains("event history is unusable"),
        end.toString());
    String next = manager.start(steps(4));
    assertEquals(JobState.JOB_STATE_SUCCEEDED, manager.awaitEnd(next).getJobFinished().getState());
    manager.awaitFinishedMark(jobDir, next);
    manager.awaitFinishedMark(jobDir, jobId);
    assertEquals("FAILED", Files.readString(jobDir.resolve(jobId).resolve("finished")).trim()
        .replace("JOB_STATE_", ""));
  }

  @Test
  void anExceptionRestartsTheManagerWithItsRunningJobsAndFailsTheBrokenOneCleanly() {
    Manager manager = new Manager(1, null, 1);
    String running = manager.start(steps(50_000_000));
    TestProbe<String> nothing = testKit.createTestProbe();
    // A start without a plan throws inside the manager once the job is recorded.
    manager.ref.tell(new JobManager.StartJob(steps(4), null, nothing.ref()));
    nothing.expectNoMessage(Duration.ofMillis(200));
    TestProbe<Object> poll = testKit.createTestProbe();
    String broken = poll.awaitAssert(WAIT, () -> {
      JobRecord record = manager.store.all().get(0);
      assertEquals("job-0002", record.jobId());
      assertTrue(record.events().complete());
      return record.jobId();
    });
    TrainingEvent end = manager.awaitEnd(broken);
    assertEquals(JobState.JOB_STATE_FAILED, end.getJobFinished().getState());
    assertTrue(end.getJobFinished().getMessage().contains("job manager restarted"),
        end.toString());
    // The restarted manager knows the running job's coordinator and numbers on after job-0002.
    assertEquals(JobState.JOB_STATE_RUNNING, manager.state(running));
    String next = manager.start(steps(4));
    assertEquals("job-0003", next);
    assertEquals(JobState.JOB_STATE_SUCCEEDED, manager.awaitEnd(next).getJobFinished().getState());
    assertEquals(JobManager.Outcome.ACCEPTED,
        manager.ask(reply -> new JobManager.CancelJob(running, reply)));
    assertEquals(JobState.JOB_STATE_CANCELLED,
        manager.awaitEnd(running).getJobFinished().getState());
  }

  private static CheckpointSettings settings(Path jobDir) {
    return new CheckpointSettings(jobDir, 1_000_000, Duration.ZERO, Duration.ZERO, false,
        10_000);
  }
}
