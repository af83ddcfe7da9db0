package tandem.orchestrator.aggregation;

import java.util.List;
import java.util.Map;
import tandem.model.spec.AggregationSettings;
import tandem.model.optim.OptimizerSettings;

/**
 * Combines shared-module gradients of several tasks into one contribution per task, scaled so
 * that adding the tasks' contributions gives the update's gradient (with one optimizer state per
 * module) or feeding each to its task's optimizer state gives the per-task updates. In sync mode
 * {@link #combine} sees a whole round; in async mode one gradient at a time, and stateful methods
 * (uncertainty weights, PCGrad's memory of other tasks) carry what they learned across calls.
 * Confined to the shared-parameter actor.
 */
public interface Aggregation {

  /**
   * Per task (in order of first appearance), per module, the gradient to apply; {@code version}
   * is the master version the result will be applied to. May overwrite the input arrays.
   */
  Map<String, Map<String, org.nd4j.linalg.api.ndarray.INDArray>> combine(
      List<StepGradient> steps, long version);

  /** The method a plan names. */
  static Aggregation create(AggregationSettings settings, OptimizerSettings optimizer, long seed) {
    return switch (settings.method()) {
      case "sum" -> LinearAggregation.sum();
      case "mean" -> LinearAggregation.mean();
      case "weighted" -> LinearAggregation.weighted(settings.taskWeights());
      case "uncertainty" -> new UncertaintyWeighting(settings.initialLogVariance(),
          optimizer.learningRate());
      case "pcgrad" -> new PCGrad(settings.maxAge(), seed);
      default -> throw new IllegalArgumentException(
          "unknown aggregation method '" + settings.method() + "'");
    };
  }
}
