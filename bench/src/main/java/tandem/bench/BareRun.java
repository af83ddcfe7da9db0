package tandem.bench;

import java.time.Duration;
import java.util.Map;

/**
 * The figures of one run of the plain single-thread loop.
 *
 * @param elapsed the step loop and then the final evaluation, as the job does them
 * @param trainingTime the step loop alone
 * @param evaluation the final evaluation's metric per task and output ({@code task/output})
 */
public record BareRun(long steps, long examples, Duration elapsed, Duration trainingTime,
    LossTrace losses, Map<String, Double> evaluation) {

  /** Examples per second of {@link #elapsed()}, the final evaluation included. */
  public double examplesPerSecond() {
    return examples / ActorRun.seconds(elapsed);
  }

  /** Examples per second of the step loop alone. */
  public double trainingExamplesPerSecond() {
    return examples / ActorRun.seconds(trainingTime);
  }
}
