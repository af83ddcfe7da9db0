package tandem.bench;

import java.time.Duration;

/**
 * The figures of one run of the plain single-thread loop, timed around the step loop only.
 */
public record BareRun(long steps, long examples, Duration elapsed, LossTrace losses) {

  public double examplesPerSecond() {
    return examples / ActorRun.seconds(elapsed);
  }
}
