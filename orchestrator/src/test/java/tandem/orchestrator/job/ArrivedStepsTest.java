package tandem.orchestrator.job;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link ArrivedSteps}: second arrivals within the window, its sliding, and jumps. */
class ArrivedStepsTest {

  @Test
  void aSecondArrivalOfANumberIsToldInAnyOrder() {
    ArrivedSteps steps = new ArrivedSteps();
    assertTrue(steps.firstArrival(2));
    assertTrue(steps.firstArrival(1));
    assertTrue(steps.firstArrival(3));
    assertFalse(steps.firstArrival(1));
    assertFalse(steps.firstArrival(3));
    assertTrue(steps.firstArrival(4));
  }

  @Test
  void theWindowSlidesWithTheHighestNumberAndForgetsWhatFallsOutOfIt() {
    ArrivedSteps steps = new ArrivedSteps();
    int window = ArrivedSteps.REMEMBERED;
    for (long step = 1; step <= 3L * window; step++) {
      assertTrue(steps.firstArrival(step), "first arrival of " + step);
    }
    long highest = 3L * window;
    // Within the window: remembered, though its bit was used by older numbers before.
    assertFalse(steps.firstArrival(highest - window + 1));
    assertFalse(steps.firstArrival(highest - 5));
    // Older than the window: nothing of it is remembered.
    assertTrue(steps.firstArrival(highest - window));
  }

  @Test
  void aJumpAheadClearsTheBitsItsNumbersTakeOver() {
    ArrivedSteps steps = new ArrivedSteps();
    int window = ArrivedSteps.REMEMBERED;
    assertTrue(steps.firstArrival(10));
    assertTrue(steps.firstArrival(11));
    // A jump: 10 + window and 11 + window take the bits of 10 and 11, which fall out.
    assertTrue(steps.firstArrival(12 + window));
    assertTrue(steps.firstArrival(11 + window), "its bit was cleared by the jump, not left set");
    assertFalse(steps.firstArrival(11 + window));
    assertTrue(steps.firstArrival(10 + window));
    // A resumed job's first step, far ahead.
    assertTrue(steps.firstArrival(5L * window + 3));
    assertFalse(steps.firstArrival(5L * window + 3));
    assertTrue(steps.firstArrival(5L * window + 2));
  }
}
