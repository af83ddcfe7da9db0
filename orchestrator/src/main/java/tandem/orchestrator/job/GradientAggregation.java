package tandem.orchestrator.job;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Combines the shared-module gradients of one sync round, module by module, over the steps that
 * used the module: {@code sum}, or {@code mean} (sum divided by the number of those steps). A
 * round of one step passes its gradient through untouched, which keeps one-worker sync training
 * bit-identical to the sequential loop. Stateless.
 */
public enum GradientAggregation {
  SUM,
  MEAN;

  /** The aggregation a plan names. */
  public static GradientAggregation named(String method) {
    return switch (method) {
      case "sum" -> SUM;
      case "mean" -> MEAN;
      default -> throw new IllegalArgumentException("unknown aggregation method '" + method + "'");
    };
  }

  /**
   * One gradient per module that any step of the round used. The first gradient of each module is
   * reused as the accumulator (it is overwritten); the others are only read.
   */
  public Map<String, INDArray> combine(List<Map<String, INDArray>> stepGradients) {
    Map<String, INDArray> combined = new LinkedHashMap<>();
    Map<String, Integer> contributors = new LinkedHashMap<>();
    for (Map<String, INDArray> gradients : stepGradients) {
      gradients.forEach((module, gradient) -> {
        INDArray sum = combined.get(module);
        if (sum == null) {
          combined.put(module, gradient);
        } else {
          sum.addi(gradient);
        }
        contributors.merge(module, 1, Integer::sum);
      });
    }
    if (this == MEAN) {
      contributors.forEach((module, count) -> {
        if (count > 1) {
          combined.get(module).divi(count);
        }
      });
    }
    return combined;
  }
}
