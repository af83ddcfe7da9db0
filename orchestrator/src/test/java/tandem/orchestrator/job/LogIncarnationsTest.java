package tandem.orchestrator.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import tandem.api.v1.TrainingEvent;

/** Which subscribers a resumed log tells of a rewind, and to where. */
class LogIncarnationsTest {

  private static final long NOT_REWOUND = LogIncarnations.NOT_REWOUND;

  @Test
  void aFirstRunStampsIncarnationZeroAndRewindsNobody() {
    EventLog log = log(null, 10);
    assertEquals(0, log.read(0, 100).events().get(9).getIncarnation());
    assertEquals(NOT_REWOUND, log.rewoundTo(10, 0));
    assertEquals(NOT_REWOUND, log.rewoundTo(50, 0), "a position ahead of the log waits");
  }

  @Test
  void aSubscriberOfTheCrashedRunPastTheCheckpointIsRewoundToIt() {
    EventLog crashed = log(null, 30);
    List<TrainingEvent> checkpoint = crashed.read(0, 20).events();
    EventLog resumed = EventLog.resumed("job-1", "n", 1_000, Instant.EPOCH, checkpoint);
    assertTrue(resumed.incarnation() > 0);
    assertEquals(20, resumed.rewoundTo(30, 0));
    assertEquals(20, resumed.rewoundTo(21, 0));
    assertEquals(NOT_REWOUND, resumed.rewoundTo(20, 0), "its events up to the checkpoint stand");
    assertEquals(NOT_REWOUND, resumed.rewoundTo(0, 0));
    TrainingEvent next = resumed.append(EventLogGrowthTest.step(21));
    assertEquals(resumed.incarnation(), next.getIncarnation());
    assertEquals(NOT_REWOUND, resumed.rewoundTo(21, resumed.incarnation()),
        "a subscriber of the resumed run is not rewound");
    assertEquals(NOT_REWOUND, resumed.rewoundTo(99, resumed.incarnation()));
  }

  @Test
  void aRunThatNeverCheckpointedIsRewoundToWhereTheCurrentRunStarted() {
    EventLog first = log(null, 30);
    List<TrainingEvent> checkpoint = first.read(0, 20).events();
    EventLog lost = EventLog.resumed("job-1", "n", 1_000, Instant.EPOCH, checkpoint);
    for (int i = 21; i <= 40; i++) {
      lost.append(EventLogGrowthTest.step(i));
    }
    EventLog current = EventLog.resumed("job-1", "n", 1_000, Instant.EPOCH, checkpoint);
    assertNotEquals(lost.incarnation(), current.incarnation());
    assertEquals(20, current.rewoundTo(40, lost.incarnation()));
    assertEquals(20, current.rewoundTo(30, 0));
  }

  @Test
  void aRunWhoseCheckpointWasKeptIsRewoundToTheEndOfItsEvents() {
    EventLog first = log(null, 30);
    EventLog second = EventLog.resumed("job-1", "n", 1_000, Instant.EPOCH,
        first.read(0, 20).events());
    for (int i = 21; i <= 50; i++) {
      second.append(EventLogGrowthTest.step(i));
    }
    // The second run checkpointed at 40, went on to 50 and crashed.
    EventLog third = EventLog.resumed("job-1", "n", 1_000, Instant.EPOCH,
        second.read(0, 40).events());
    assertEquals(40, third.rewoundTo(50, second.incarnation()));
    assertEquals(NOT_REWOUND, third.rewoundTo(40, second.incarnation()));
    assertEquals(NOT_REWOUND, third.rewoundTo(35, second.incarnation()));
    assertEquals(20, third.rewoundTo(30, 0), "the first run's events end at its checkpoint");
    assertEquals(NOT_REWOUND, third.rewoundTo(15, 0));
  }

  @Test
  void anIncarnationNewerThanAnyTheLogKnowsIsRewoundToTheStart() {
    EventLog resumed = EventLog.resumed("job-1", "n", 1_000, Instant.EPOCH,
        log(null, 5).read(0, 5).events());
    assertEquals(0, resumed.rewoundTo(3, resumed.incarnation() + 1));
  }

  @Test
  void aResumeWithoutACheckpointRewindsEveryEarlierSubscriberToTheStart() {
    EventLog resumed = EventLog.resumed("job-1", "n", 1_000, Instant.EPOCH, List.of());
    assertEquals(0, resumed.rewoundTo(12, 0));
    assertEquals(NOT_REWOUND, resumed.rewoundTo(12, resumed.incarnation()));
  }

  private static EventLog log(List<TrainingEvent> history, int events) {
    EventLog log = history == null ? new EventLog("job-1", "n", 1_000, Instant.EPOCH)
        : EventLog.resumed("job-1", "n", 1_000, Instant.EPOCH, history);
    for (int i = 1; i <= events; i++) {
      log.append(EventLogGrowthTest.step(i));
    }
    return log;
  }
}
