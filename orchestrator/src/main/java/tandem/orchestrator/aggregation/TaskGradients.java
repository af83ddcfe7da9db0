package tandem.orchestrator.aggregation;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.model.kernel.InPlace;

/** Sums of step gradients per task and module, the first step's arrays reused. Stateless. */
final class TaskGradients {

  private TaskGradients() {}

  /** Per task in order of first appearance, per module: the sum of its steps' gradients. */
  static Map<String, Map<String, INDArray>> sumByTask(List<StepGradient> steps) {
    Map<String, Map<String, INDArray>> byTask = new LinkedHashMap<>();
    for (StepGradient step : steps) {
      Map<String, INDArray> task = byTask.computeIfAbsent(step.task(), t -> new LinkedHashMap<>());
      step.gradients().forEach((module, gradient) -> {
        INDArray sum = task.get(module);
        if (sum == null) {
          task.put(module, gradient);
        } else {
          InPlace.add(sum, gradient);
        }
      });
    }
    return byTask;
  }

  /** Dot product over the modules both have (a module one lacks counts as zeros). */
  static double dot(Map<String, INDArray> a, Map<String, INDArray> b) {
    double dot = 0;
    for (Map.Entry<String, INDArray> entry : a.entrySet()) {
      INDArray other = b.get(entry.getKey());
      if (other != null) {
        dot += entry.getValue().castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE)
            .mul(other.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE)).sumNumber()
            .doubleValue();
      }
    }
    return dot;
  }

  /** Multiplies every array in place, unless {@code factor} is 1 (kept bit-exact). */
  static void scaleInPlace(Map<String, INDArray> gradients, double factor) {
    if (factor != 1.0) {
      gradients.values().forEach(gradient -> InPlace.multiply(gradient, factor));
    }
  }
}
