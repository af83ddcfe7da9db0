package tandem.orchestrator.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import tandem.api.v1.EvaluationCompleted;
import tandem.api.v1.Evaluation;
import tandem.api.v1.JobStarted;
import tandem.api.v1.JobStatus;
import tandem.api.v1.ScheduleSpec;
import tandem.api.v1.ScheduleUpdated;
import tandem.api.v1.StepCompleted;
import tandem.api.v1.TaskPlacement;
import tandem.api.v1.TrainingEvent;

/**
 * A log resumed from a checkpoint's state and retained events (format 3) goes on exactly as one
 * folded from every event would: the same status, curves included, before and after more events;
 * the events it no longer holds read as missed; subscribers of the earlier run are told of the
 * rewind. What a checkpoint keeps does not grow with the job's age.
 */
class EventLogStateTest {

  private static final int RETAINED = 300;

  @Test
  void aLogResumedFromItsStateGoesOnAsTheLogThatFoldedEveryEvent() {
    EventLog original = new EventLog("job-1", "n", RETAINED, Instant.ofEpochSecond(1000));
    append(original, 1, 5000);
    assertEquals(RETAINED, original.retainedWithState(Integer.MAX_VALUE).events().size(),
        "at most the retained events, not all 5,000");
    EventLog.Retained kept = original.retainedWithState(120);
    assertEquals(120, kept.events().size(), "the newest 120, as asked");
    assertEquals(5000, kept.events().get(119).getSequence());
    EventLog resumed = EventLog.resumed("job-1", "n", RETAINED, kept.state(), kept.events());
    assertEquals(comparable(original.status()), comparable(resumed.status()));
    // When the job started, though the job_started event is no longer among the events kept.
    assertTrue(original.status().hasStartedAt());
    assertEquals(original.status().getStartedAt(), resumed.status().getStartedAt());

    // Both go on with the same events: the loss curves (merged buckets) and counts still agree.
    append(original, 5001, 9000);
    append(resumed, 5001, 9000);
    assertEquals(comparable(original.status()), comparable(resumed.status()));
    assertTrue(resumed.status().getTasks(0).getLossCurveCount() > 100);

    EventLog.Slice fromStart = resumed.read(0, 10);
    assertTrue(fromStart.missed(), "events before the retained ones are gone");
    assertEquals(1, fromStart.firstMissed());
  }

  @Test
  void aSubscriberOfTheEarlierRunPastTheCheckpointIsToldOfTheRewind() {
    EventLog original = new EventLog("job-1", "n", RETAINED, Instant.EPOCH);
    append(original, 1, 1000);
    EventLog.Retained kept = original.retainedWithState(Integer.MAX_VALUE);
    long checkpointed = original.lastSequence();
    // The earlier run went on after its checkpoint; a subscriber saw those events.
    append(original, 1001, 1050);
    EventLog resumed = EventLog.resumed("job-1", "n", RETAINED, kept.state(), kept.events());
    assertEquals(checkpointed, resumed.rewoundTo(1050, 0));
    assertEquals(LogIncarnations.NOT_REWOUND, resumed.rewoundTo(900, 0));
    TrainingEvent next = resumed.append(step(1001));
    assertEquals(checkpointed + 1, next.getSequence());
    assertTrue(next.getIncarnation() > 0, "a new incarnation stamps the resumed run's events");
    // Resumed again from the resumed log: both runs' segments survive.
    EventLog.Retained again = resumed.retainedWithState(Integer.MAX_VALUE);
    EventLog third = EventLog.resumed("job-1", "n", RETAINED, again.state(), again.events());
    assertEquals(checkpointed, third.rewoundTo(1050, 0));
    assertEquals(LogIncarnations.NOT_REWOUND, third.rewoundTo(next.getSequence(),
        next.getIncarnation()));
  }

  @Test
  void eventsThatDoNotEndWhereTheStateSaysAreRefused() {
    EventLog original = new EventLog("job-1", "n", RETAINED, Instant.EPOCH);
    append(original, 1, 400);
    EventLog.Retained kept = original.retainedWithState(Integer.MAX_VALUE);
    List<TrainingEvent> short1 = kept.events().subList(0, kept.events().size() - 1);
    assertThrows(IllegalArgumentException.class,
        () -> EventLog.resumed("job-1", "n", RETAINED, kept.state(), short1));
    List<TrainingEvent> gapped = new ArrayList<>(kept.events());
    gapped.remove(10);
    assertThrows(IllegalArgumentException.class,
        () -> EventLog.resumed("job-1", "n", RETAINED, kept.state(), gapped));
  }

  /** Events {@code from} to {@code to}: the start, steps of three tasks, an evaluation, a schedule change. */
  private static void append(EventLog log, long from, long to) {
    for (long i = from; i <= to; i++) {
      if (i == 1) {
        log.append(TrainingEvent.newBuilder().setJobStarted(JobStarted.newBuilder()
            .setMaxSteps(100_000)
            .addPlacements(TaskPlacement.newBuilder().setTask("a").setWorker("w0"))
            .addPlacements(TaskPlacement.newBuilder().setTask("b").setWorker("w1"))));
      } else if (i % 997 == 0) {
        log.append(TrainingEvent.newBuilder().setEvaluationCompleted(EvaluationCompleted
            .newBuilder().setStep(i).addEvaluations(Evaluation.newBuilder().setTask("a")
                .setMetric("accuracy").setValue(i / 10000.0))));
      } else if (i % 1499 == 0) {
        log.append(TrainingEvent.newBuilder().setScheduleUpdated(ScheduleUpdated.newBuilder()
            .setAfterStep(i).setSchedule(ScheduleSpec.newBuilder().setPolicy("weighted")
                .putWeights("a", i % 7 + 1))));
      } else {
        log.append(step(i));
      }
    }
  }

  private static TrainingEvent.Builder step(long i) {
    return TrainingEvent.newBuilder().setStepCompleted(StepCompleted.newBuilder().setStep(i)
        .setTask(new String[] {"a", "b", "c"}[(int) (i % 3)]).setLoss(1.0 / (1 + i % 101))
        .setExamples(8).setWorker("w" + i % 2).setStaleness(i % 5)
        .setGradientDropped(i % 13 == 0));
  }

  /** The status without what depends on the clock. */
  private static JobStatus comparable(JobStatus status) {
    return status.toBuilder().clearElapsed().clearExamplesPerSecond().clearStepsPerSecond()
        .build();
  }
}
