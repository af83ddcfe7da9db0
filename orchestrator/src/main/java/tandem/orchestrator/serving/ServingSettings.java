package tandem.orchestrator.serving;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * Settings of model serving, read from {@code tandem.orchestrator.serving} (defaults in
 * reference.conf). Immutable.
 *
 * @param maxDelay how long the first request of a batch waits for others (0: never waits)
 * @param maxBatchRows rows that make a batch full, so it runs without waiting longer
 * @param computeThreads threads running predictions (ND4J with one OpenMP thread each)
 */
public record ServingSettings(Duration maxDelay, int maxBatchRows, int computeThreads) {

  public ServingSettings {
    if (maxDelay.isNegative()) {
      throw new IllegalArgumentException("expected max-delay >= 0, found " + maxDelay);
    }
    if (maxBatchRows <= 0 || computeThreads <= 0) {
      throw new IllegalArgumentException("expected positive max-batch-rows and compute-threads, "
          + "found " + maxBatchRows + " and " + computeThreads);
    }
  }

  public static ServingSettings create(Config config) {
    Config c = config.getConfig("tandem.orchestrator.serving");
    return new ServingSettings(c.getDuration("max-delay"), c.getInt("max-batch-rows"),
        c.getInt("compute-threads"));
  }
}
