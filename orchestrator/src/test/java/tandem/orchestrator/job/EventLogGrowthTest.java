package tandem.orchestrator.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import tandem.api.v1.StepCompleted;
import tandem.api.v1.TrainingEvent;

/** The ring grows on demand up to its retention, then wraps; resumed logs do the same. */
class EventLogGrowthTest {

  @Test
  void aNewLogHoldsOnlyASmallRingWhateverItsRetention() {
    EventLog log = new EventLog("job-1", "n", 200_000, Instant.EPOCH);
    assertEquals(EventLog.INITIAL_CAPACITY, log.capacity());
  }

  @Test
  void theRingDoublesWhenFullAndKeepsEveryEventInOrder() {
    EventLog log = new EventLog("job-1", "n", 1_000, Instant.EPOCH);
    int events = EventLog.INITIAL_CAPACITY * 4 + 3;
    for (int i = 1; i <= events; i++) {
      log.append(step(i));
    }
    assertEquals(EventLog.INITIAL_CAPACITY * 8, log.capacity());
    EventLog.Slice all = log.read(0, 10_000);
    assertFalse(all.missed());
    assertEquals(LongStream.rangeClosed(1, events).boxed().toList(), sequences(all));
    assertEquals(LongStream.rangeClosed(1, events).boxed().toList(), steps(all));
  }

  @Test
  void theRingStopsGrowingAtTheRetentionAndThenWraps() {
    int retained = EventLog.INITIAL_CAPACITY * 2 + 5;
    EventLog log = new EventLog("job-1", "n", retained, Instant.EPOCH);
    int events = retained * 3 + 7;
    for (int i = 1; i <= events; i++) {
      log.append(step(i));
    }
    assertEquals(retained, log.capacity());
    EventLog.Slice fromStart = log.read(0, 10_000);
    assertTrue(fromStart.missed());
    assertEquals(1, fromStart.firstMissed());
    assertEquals(events - retained, fromStart.lastMissed());
    List<Long> expected = LongStream.rangeClosed(events - retained + 1, events).boxed().toList();
    assertEquals(expected, sequences(fromStart));
    assertEquals(expected, steps(fromStart));
  }

  @Test
  void aResumedLogGrowsToHoldItsHistoryAndGoesOnFromIt() {
    EventLog first = new EventLog("job-1", "n", 1_000, Instant.EPOCH);
    List<TrainingEvent> history = new ArrayList<>();
    for (int i = 1; i <= 150; i++) {
      history.add(first.append(step(i)));
    }
    EventLog resumed = EventLog.resumed("job-1", "n", 1_000, Instant.EPOCH, history);
    resumed.append(step(151));
    assertEquals(LongStream.rangeClosed(1, 151).boxed().toList(),
        sequences(resumed.read(0, 10_000)));
    assertEquals(EventLog.INITIAL_CAPACITY * 4, resumed.capacity());
  }

  @Test
  void eachSlotHoldsItsOwnEventsBytesAcrossGrowingAndWrapping() throws Exception {
    EventLog log = new EventLog("job-1", "n", 2 * EventLog.INITIAL_CAPACITY, Instant.EPOCH);
    List<TrainingEvent> appended = new ArrayList<>();
    for (int i = 1; i <= 3 * EventLog.INITIAL_CAPACITY; i++) {
      appended.add(log.append(step(i)));
    }
    EventLog.Slice slice = log.read(0, 10_000);
    assertTrue(slice.missed());
    assertEquals(EventLog.INITIAL_CAPACITY + 1, slice.firstSequence());
    List<TrainingEvent> kept = appended.subList(EventLog.INITIAL_CAPACITY, appended.size());
    assertEquals(kept, slice.events());
    for (int i = 0; i < kept.size(); i++) {
      assertEquals(kept.get(i), TrainingEvent.parseFrom(slice.serialized().get(i)));
    }
  }

  static TrainingEvent.Builder step(long step) {
    return TrainingEvent.newBuilder()
        .setStepCompleted(StepCompleted.newBuilder().setStep(step).setTask("a").setLoss(1));
  }

  static List<Long> sequences(EventLog.Slice slice) {
    return slice.events().stream().map(TrainingEvent::getSequence).toList();
  }

  private static List<Long> steps(EventLog.Slice slice) {
    return slice.events().stream().map(e -> e.getStepCompleted().getStep()).toList();
  }
}
