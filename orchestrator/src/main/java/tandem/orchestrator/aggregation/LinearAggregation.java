package tandem.orchestrator.aggregation;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.model.kernel.InPlace;

/**
 * Fixed linear combinations: {@code sum} adds the gradients; {@code mean} adds them and divides
 * each module's by the number of steps that used it; {@code weighted} multiplies each task's
 * gradient by its fixed weight (default 1) before adding. A round of one step at weight 1 passes
 * its gradient through untouched, which keeps one-worker sync training bit-identical to the
 * sequential loop. Stateless.
 */
final class LinearAggregation implements Aggregation {

  private final boolean mean;
  private final Map<String, Double> taskWeights;

  private LinearAggregation(boolean mean, Map<String, Double> taskWeights) {
    this.mean = mean;
    this.taskWeights = Map.copyOf(taskWeights);
  }

  static LinearAggregation sum() {
    return new LinearAggregation(false, Map.of());
  }

  static LinearAggregation mean() {
    return new LinearAggregation(true, Map.of());
  }

  static LinearAggregation weighted(Map<String, Double> taskWeights) {
    return new LinearAggregation(false, taskWeights);
  }

  @Override
  public Map<String, Map<String, INDArray>> combine(List<StepGradient> steps, long version) {
    Map<String, Integer> users = new HashMap<>();
    steps.forEach(step -> step.gradients().keySet().forEach(m -> users.merge(m, 1, Integer::sum)));
    Map<String, Map<String, INDArray>> byTask = TaskGradients.sumByTask(steps);
    byTask.forEach((task, gradients) -> {
      TaskGradients.scaleInPlace(gradients, taskWeights.getOrDefault(task, 1.0));
      if (mean) {
        gradients.forEach((module, gradient) -> {
          int count = users.get(module);
          if (count > 1) {
            InPlace.divide(gradient, count);
          }
        });
      }
    });
    return byTask;
  }
}
