package tandem.orchestrator.aggregation;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Uncertainty weighting (Kendall, Gal and Cipolla, 2018, "Multi-Task Learning Using Uncertainty
 * to Weigh Losses for Scene Geometry and Semantics"): the job minimises
 * {@code sum_t exp(-s_t) L_t + s_t} with a learned log-variance {@code s_t} per task. Each task's
 * shared gradient is multiplied by {@code exp(-s_t)} (with the value before this step's update),
 * then every {@code s_t} takes a plain gradient step on its own term,
 * {@code s_t -= rate * (1 - exp(-s_t) L_t)}, once per step of the task. Heads stay unweighted:
 * with Adam a constant factor on one task's loss barely changes its head's updates. Confined to the
 * shared-parameter actor.
 */
final class UncertaintyWeighting implements Aggregation {

  private final double initialLogVariance;
  private final double rate;
  private final Map<String, Double> logVariances = new HashMap<>();

  UncertaintyWeighting(double initialLogVariance, double rate) {
    this.initialLogVariance = initialLogVariance;
    this.rate = rate;
  }

  @Override
  public Map<String, Map<String, INDArray>> combine(List<StepGradient> steps, long version) {
    Map<String, Map<String, INDArray>> byTask = TaskGradients.sumByTask(steps);
    byTask.forEach((task, gradients) ->
        TaskGradients.scaleInPlace(gradients, Math.exp(-logVariance(task))));
    for (StepGradient step : steps) {
      double s = logVariance(step.task());
      logVariances.put(step.task(), s - rate * (1 - Math.exp(-s) * step.loss()));
    }
    return byTask;
  }

  /** The task's current log-variance {@code s_t}. */
  double logVariance(String task) {
    return logVariances.getOrDefault(task, initialLogVariance);
  }
}
