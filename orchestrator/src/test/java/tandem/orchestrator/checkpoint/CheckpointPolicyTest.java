package tandem.orchestrator.checkpoint;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import tandem.api.v1.CheckpointSpec;

/** When checkpoints are due: steps or time, and the least interval of the default steps. */
class CheckpointPolicyTest {

  private static final long SECOND = 1_000_000_000L;
  private static final CheckpointSettings DEFAULTS = new CheckpointSettings(null, 1000,
      Duration.ofMinutes(5), Duration.ofSeconds(30), true, 10_000);

  @Test
  void theDefaultStepsWaitForTheLeastInterval() {
    CheckpointPolicy policy = new CheckpointPolicy(CheckpointSpec.getDefaultInstance(), DEFAULTS,
        0, 0);
    assertFalse(policy.due(5000, 10 * SECOND), "5,000 steps in 10 s: not yet");
    assertTrue(policy.due(5000, 30 * SECOND), "and once 30 s have passed");
    policy.taken(5000, 30 * SECOND);
    assertFalse(policy.due(5500, 70 * SECOND), "500 steps: not enough however long");
    assertTrue(policy.due(5500, 330 * SECOND), "until the time bound (5 min)");
  }

  @Test
  void aSpecsOwnStepsAreKeptExactly() {
    CheckpointPolicy policy = new CheckpointPolicy(CheckpointSpec.newBuilder().setEverySteps(100)
        .build(), DEFAULTS, 0, 0);
    assertFalse(policy.due(99, SECOND));
    assertTrue(policy.due(100, SECOND), "100 steps in a second: due, no least interval");
  }

  @Test
  void aDisabledSpecNeverCheckpoints() {
    CheckpointPolicy policy = new CheckpointPolicy(CheckpointSpec.newBuilder().setDisabled(true)
        .build(), DEFAULTS, 0, 0);
    assertFalse(policy.due(1_000_000, 3600 * SECOND));
    assertFalse(policy.finalDue(10));
  }
}
