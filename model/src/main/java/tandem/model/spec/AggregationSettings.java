package tandem.model.spec;

import java.util.Map;

/**
 * How shared gradients of several tasks are combined, checked. Immutable.
 *
 * @param method {@code sum}, {@code mean}, {@code weighted}, {@code uncertainty} or {@code pcgrad}
 * @param taskWeights weighted only: multiplier per task (missing tasks: 1)
 * @param maxAge pcgrad in async mode: the oldest other-task gradient used, in versions
 * @param initialLogVariance uncertainty only: every task's starting log-variance
 */
public record AggregationSettings(String method, Map<String, Double> taskWeights, int maxAge,
    double initialLogVariance) {

  public AggregationSettings {
    taskWeights = Map.copyOf(taskWeights);
  }
}
