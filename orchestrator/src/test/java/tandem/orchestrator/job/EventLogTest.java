package tandem.orchestrator.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import tandem.api.v1.Evaluation;
import tandem.api.v1.EvaluationCompleted;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobStarted;
import tandem.api.v1.JobState;
import tandem.api.v1.JobStatus;
import tandem.api.v1.StepCompleted;
import tandem.api.v1.TaskPlacement;
import tandem.api.v1.TaskProgress;
import tandem.api.v1.TrainingEvent;

class EventLogTest {

  private static final double TOLERANCE = 1e-12;

  @Test
  void numbersEventsFromOneWithoutGapsAndStampsThem() {
    EventLog log = log(100);
    for (long expected = 1; expected <= 5; expected++) {
      TrainingEvent stored = log.append(step("a", expected, 1.0));
      assertEquals(expected, stored.getSequence());
      assertEquals("job-1", stored.getJobId());
      assertTrue(stored.hasTime());
    }
    assertEquals(5, log.lastSequence());
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L), sequences(log.read(0, 100)));
  }

  @Test
  void readReturnsEventsAfterThePositionUpToMax() {
    EventLog log = log(100);
    for (int i = 1; i <= 5; i++) {
      log.append(step("a", i, 1.0));
    }
    EventLog.Slice afterTwo = log.read(2, 100);
    assertEquals(List.of(3L, 4L, 5L), sequences(afterTwo));
    assertFalse(afterTwo.missed());
    assertEquals(List.of(3L, 4L), sequences(log.read(2, 2)));
    assertEquals(List.of(), sequences(log.read(5, 100)));
    assertEquals(List.of(), sequences(log.read(9, 100)));
    assertFalse(log.read(5, 100).complete(), "no JobFinished yet");
  }

  @Test
  void ringKeepsTheNewestAndReportsWhatAReaderMissed() {
    EventLog log = log(5);
    for (int i = 1; i <= 12; i++) {
      log.append(step("a", i, 1.0));
    }
    EventLog.Slice fromStart = log.read(0, 100);
    assertTrue(fromStart.missed());
    assertEquals(1, fromStart.firstMissed());
    assertEquals(7, fromStart.lastMissed());
    assertEquals(List.of(8L, 9L, 10L, 11L, 12L), sequences(fromStart));

    EventLog.Slice fromFour = log.read(4, 2);
    assertEquals(5, fromFour.firstMissed());
    assertEquals(7, fromFour.lastMissed());
    assertEquals(List.of(8L, 9L), sequences(fromFour));

    EventLog.Slice inWindow = log.read(7, 100);
    assertFalse(inWindow.missed());
    assertEquals(List.of(8L, 9L, 10L, 11L, 12L), sequences(inWindow));
    // Each event's step number is its sequence here: the ring returns the right payloads.
    inWindow.events().forEach(e -> assertEquals(e.getSequence(), e.getStepCompleted().getStep()));
  }

  @Test
  void completeOnlyOnceTheJobFinishedEventIsRead() {
    EventLog log = log(100);
    log.append(started());
    log.append(step("a", 1, 1.0));
    assertFalse(log.complete());
    log.append(finished(JobState.JOB_STATE_SUCCEEDED, ""));
    assertTrue(log.complete());
    assertFalse(log.read(0, 2).complete(), "JobFinished not in the slice");
    assertTrue(log.read(0, 3).complete());
    assertTrue(log.read(2, 100).complete());
    assertTrue(log.read(3, 100).complete(), "reader already past the last event");
  }

  @Test
  void appendAfterJobFinishedThrows() {
    EventLog log = log(100);
    log.append(finished(JobState.JOB_STATE_CANCELLED, "cancelled by request"));
    assertThrows(IllegalStateException.class, () -> log.append(step("a", 1, 1.0)));
    assertEquals(1, log.lastSequence());
  }

  @Test
  void statusFoldsStepsIntoPerTaskProgressWithASmoothedLoss() {
    EventLog log = log(100);
    assertEquals(JobState.JOB_STATE_PENDING, log.status().getState());
    log.append(started());
    JobStatus running = log.status();
    assertEquals(JobState.JOB_STATE_RUNNING, running.getState());
    assertEquals(10, running.getMaxSteps());
    assertEquals(List.of("a", "b"), running.getTasksList().stream().map(TaskProgress::getTask)
        .toList());

    log.append(step("a", 1, 2.0));
    log.append(step("b", 2, 3.0));
    log.append(step("a", 3, 1.0));
    log.append(step("a", 4, 4.0));
    JobStatus status = log.status();
    assertEquals(4, status.getStepsDone());
    assertEquals(5, status.getLastSequence());
    TaskProgress a = status.getTasks(0);
    assertEquals(3, a.getSteps());
    assertEquals(12, a.getExamples());
    assertEquals(4.0, a.getLastLoss(), TOLERANCE);
    // 2.0, then 0.9 * 2.0 + 0.1 * 1.0 = 1.9, then 0.9 * 1.9 + 0.1 * 4.0 = 2.11
    assertEquals(2.11, a.getSmoothedLoss(), TOLERANCE);
    assertEquals("w0", a.getWorker());
    TaskProgress b = status.getTasks(1);
    assertEquals(1, b.getSteps());
    assertEquals(3.0, b.getSmoothedLoss(), TOLERANCE);
    assertEquals(3.0, b.getLastLoss(), TOLERANCE);
    assertEquals("w1", b.getWorker());
  }

  @Test
  void statusTakesEvaluationsAndTheFinalState() {
    EventLog log = log(100);
    log.append(started());
    Evaluation evaluation = Evaluation.newBuilder().setTask("a").setOutput("out")
        .setMetric("accuracy").setValue(0.75).setExamples(10).build();
    log.append(TrainingEvent.newBuilder().setEvaluationCompleted(
        EvaluationCompleted.newBuilder().setStep(0).addEvaluations(evaluation)));
    assertEquals(List.of(evaluation), log.status().getEvaluationsList());
    log.append(finished(JobState.JOB_STATE_FAILED, "step 3 failed"));
    JobStatus status = log.status();
    assertEquals(JobState.JOB_STATE_FAILED, status.getState());
    assertEquals("step 3 failed", status.getError());

    EventLog succeeded = log(100);
    succeeded.append(started());
    succeeded.append(finished(JobState.JOB_STATE_SUCCEEDED, "fine"));
    assertEquals(JobState.JOB_STATE_SUCCEEDED, succeeded.status().getState());
    assertEquals("", succeeded.status().getError());
  }

  @Test
  void listenersRunOnEveryAppendWithTheEventReadable() {
    EventLog log = log(100);
    AtomicLong seenOnCall = new AtomicLong();
    List<Long> calls = new ArrayList<>();
    Runnable listener = () -> {
      calls.add(log.lastSequence());
      seenOnCall.set(log.read(log.lastSequence() - 1, 1).events().get(0).getSequence());
    };
    log.addListener(listener);
    log.append(step("a", 1, 1.0));
    log.append(step("a", 2, 1.0));
    assertEquals(List.of(1L, 2L), calls);
    assertEquals(2, seenOnCall.get());
    log.removeListener(listener);
    log.append(step("a", 3, 1.0));
    assertEquals(List.of(1L, 2L), calls);
  }

  @Test
  void theLogHoldsEachEventSerializedOnceAndEveryReaderGetsThoseBytes() throws Exception {
    EventLog log = log(100);
    TrainingEvent first = log.append(step("a", 1, 1.0));
    TrainingEvent second = log.append(step("b", 2, 0.5));
    EventLog.Slice slice = log.read(0, 10);
    assertEquals(1, slice.firstSequence());
    assertEquals(2, slice.lastSequence());
    assertArrayEquals(first.toByteArray(), slice.serialized().get(0));
    assertEquals(List.of(first, second), slice.events(), "parsed back as appended");
    assertSame(slice.serialized().get(1), log.read(1, 10).serialized().get(0),
        "every reader gets the same bytes, serialized once");
    EventLog.Slice none = log.read(2, 10);
    assertTrue(none.serialized().isEmpty());
    assertEquals(2, none.lastSequence(), "an empty read ends at the log's last event");
  }

  @Test
  void retentionMustBePositive() {
    assertThrows(IllegalArgumentException.class,
        () -> new EventLog("job-1", "tiny", 0, Instant.now()));
  }

  private static EventLog log(int retained) {
    return new EventLog("job-1", "tiny", retained, Instant.now());
  }

  private static TrainingEvent.Builder started() {
    return TrainingEvent.newBuilder().setJobStarted(JobStarted.newBuilder()
        .setMaxSteps(10).setWorkers(2)
        .addPlacements(TaskPlacement.newBuilder().setTask("a").setWorker("w0"))
        .addPlacements(TaskPlacement.newBuilder().setTask("b").setWorker("w1")));
  }

  private static TrainingEvent.Builder step(String task, long step, double loss) {
    return TrainingEvent.newBuilder().setStepCompleted(StepCompleted.newBuilder()
        .setStep(step).setTask(task).setLoss(loss).setExamples(4)
        .setWorker(task.equals("a") ? "w0" : "w1"));
  }

  private static TrainingEvent.Builder finished(JobState state, String message) {
    return TrainingEvent.newBuilder().setJobFinished(
        JobFinished.newBuilder().setState(state).setMessage(message));
  }

  private static List<Long> sequences(EventLog.Slice slice) {
    return slice.events().stream().map(TrainingEvent::getSequence).toList();
  }
}
