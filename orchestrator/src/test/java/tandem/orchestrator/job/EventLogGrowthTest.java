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
  void anEventIsSerializedOnceForAllItsReadersAndAnewOnceItsSlotIsReused() throws Exception {
    EventLog log = new EventLog("job-1", "n", EventLog.INITIAL_CAPACITY, Instant.EPOCH);
    TrainingEvent first = log.append(step(1));
    byte[] bytes = log.serialized(first);
    assertTrue(bytes == log.serialized(log.read(0, 1).events().get(0)), "the same bytes");
    assertEquals(first, TrainingEvent.parseFrom(bytes));
    TrainingEvent other = TrainingEvent.newBuilder().setSequence(1).setJobId("job-1").build();
    assertEquals(other, TrainingEvent.parseFrom(log.serialized(other)),
        "an event not in the ring is serialized for its caller");
    for (int i = 2; i <= EventLog.INITIAL_CAPACITY + 1; i++) {
      log.append(step(i));
    }
    TrainingEvent wrapped = log.read(EventLog.INITIAL_CAPACITY, 1).events().get(0);
    assertEquals(wrapped, TrainingEvent.parseFrom(log.serialized(wrapped)),
        "the slot's new event, not the old one's bytes");
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
