package tandem.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Timestamp;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import tandem.api.v1.EventsMissed;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobStarted;
import tandem.api.v1.JobState;
import tandem.api.v1.JobStatus;
import tandem.api.v1.StepCompleted;
import tandem.api.v1.TaskPlacement;
import tandem.api.v1.TaskProgress;
import tandem.api.v1.TrainingEvent;
import tandem.client.WatchState.TaskStats;

class WatchStateTest {

  private static final double EPS = 1e-12;

  @Test
  void foldsStepsIntoPerTaskLossesAndProgress() {
    WatchState state = new WatchState();
    state.apply(started(1, 0, 10, "a", "b"));
    state.apply(step(2, 1000, 1, "a", 2.0));
    state.apply(step(3, 1500, 2, "b", 4.0));
    state.apply(step(4, 2000, 3, "a", 1.0));

    List<TaskStats> tasks = state.tasks();
    assertEquals(List.of("a", "b"), tasks.stream().map(TaskStats::task).toList());
    TaskStats a = tasks.get(0);
    assertEquals(2, a.steps());
    assertEquals(1.0, a.lastLoss(), EPS);
    // First step seeds the average; then 0.9 * 2.0 + 0.1 * 1.0.
    assertEquals(1.9, a.smoothedLoss(), EPS);
    // Two steps in the 2 s since the job started.
    assertEquals(1.0, a.stepsPerSecond(), EPS);
    TaskStats b = tasks.get(1);
    assertEquals(1, b.steps());
    assertEquals(4.0, b.smoothedLoss(), EPS);
    assertEquals(1 / 1.5, b.stepsPerSecond(), EPS);

    assertEquals(3, state.steps());
    assertEquals(10, state.maxSteps());
    assertEquals(0.3, state.progress(), EPS);
    assertEquals(Duration.ofSeconds(2), state.elapsed());
    assertEquals(4, state.lastSequence());
    assertTrue(state.finished().isEmpty());
  }

  @Test
  void replayedEventsAreIgnoredAndFinishIsRecorded() {
    WatchState state = new WatchState();
    state.apply(started(1, 0, 4, "a"));
    state.apply(step(2, 100, 1, "a", 3.0));
    state.apply(step(2, 100, 1, "a", 3.0));
    state.apply(TrainingEvent.newBuilder().setSequence(3).setJobFinished(
        JobFinished.newBuilder().setState(JobState.JOB_STATE_SUCCEEDED).setSteps(4)).build());

    assertEquals(1, state.tasks().get(0).steps());
    assertEquals(4, state.steps());
    assertEquals(1.0, state.progress(), EPS);
    assertEquals(JobState.JOB_STATE_SUCCEEDED, state.finished().orElseThrow().getState());
  }

  @Test
  void countsMissedEvents() {
    WatchState state = new WatchState();
    state.apply(TrainingEvent.newBuilder().setSequence(40).setEventsMissed(
        EventsMissed.newBuilder().setFirstMissed(11).setLastMissed(40)).build());
    assertEquals(30, state.missedEvents());
    assertEquals(40, state.lastSequence());
  }

  @Test
  void seedingFromAStatusResumesPartWay() {
    WatchState state = new WatchState();
    state.seed(JobStatus.newBuilder().setJobId("j").setMaxSteps(100).setStepsDone(50).setLastSequence(51)
        .addTasks(TaskProgress.newBuilder().setTask("a").setSteps(50).setLastLoss(0.5).setSmoothedLoss(0.6))
        .build(), true);
    state.apply(step(51, 0, 50, "a", 0.5));
    state.apply(step(52, 0, 51, "a", 1.6));

    TaskStats a = state.tasks().get(0);
    assertEquals(51, a.steps());
    assertEquals(0.9 * 0.6 + 0.1 * 1.6, a.smoothedLoss(), EPS);
    assertEquals(0.51, state.progress(), EPS);
  }

  @Test
  void progressIsZeroWhileTheBudgetIsUnknown() {
    WatchState state = new WatchState();
    state.apply(step(1, 0, 1, "a", 1.0));
    assertEquals(0.0, state.progress(), EPS);
    assertEquals(0.0, state.tasks().get(0).stepsPerSecond(), EPS);
  }

  @Test
  void aRewindGoesBackToItsPointAndTheResumeResetsTheStepCount() {
    WatchState state = new WatchState();
    state.apply(started(1, 0, 10, "a"));
    for (int seq = 2; seq <= 6; seq++) {
      state.apply(step(seq, 100 * seq, seq - 1, "a", 1.0));
    }
    assertEquals(5, state.steps());
    state.apply(TrainingEvent.newBuilder().setSequence(3).setIncarnation(42)
        .setLogRewound(tandem.api.v1.LogRewound.newBuilder().setAfterSequence(6)
            .setRewoundTo(3).setIncarnation(42)).build());
    assertEquals(3, state.lastSequence());
    assertEquals(42, state.incarnation());
    assertEquals(1, state.rewinds());
    state.apply(TrainingEvent.newBuilder().setSequence(4).setIncarnation(42)
        .setJobResumed(tandem.api.v1.JobResumed.newBuilder().setFromStep(2).setFromSequence(3))
        .build());
    assertEquals(2, state.steps(), "the checkpoint's steps");
    state.apply(step(5, 900, 3, "a", 0.5));
    assertEquals(5, state.lastSequence(), "re-sent numbers count again");
    assertEquals(3, state.steps());
  }

  static TrainingEvent started(long seq, long millis, long maxSteps, String... tasks) {
    JobStarted.Builder started = JobStarted.newBuilder().setMaxSteps(maxSteps).setWorkers(1);
    for (String task : tasks) {
      started.addPlacements(TaskPlacement.newBuilder().setTask(task).setWorker("w0"));
    }
    return TrainingEvent.newBuilder().setSequence(seq).setJobId("j").setTime(at(millis))
        .setJobStarted(started).build();
  }

  static TrainingEvent step(long seq, long millis, long step, String task, double loss) {
    return TrainingEvent.newBuilder().setSequence(seq).setJobId("j").setTime(at(millis))
        .setStepCompleted(StepCompleted.newBuilder().setStep(step).setTask(task).setLoss(loss).setExamples(10))
        .build();
  }

  private static Timestamp at(long millis) {
    return Timestamp.newBuilder().setSeconds(1_700_000_000L + millis / 1000)
        .setNanos((int) (millis % 1000) * 1_000_000).build();
  }
}
