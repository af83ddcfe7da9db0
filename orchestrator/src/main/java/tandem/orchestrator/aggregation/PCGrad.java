package tandem.orchestrator.aggregation;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * PCGrad (Yu et al., 2020, "Gradient Surgery for Multi-Task Learning"): each task's gradient is
 * projected off every other task's gradient it conflicts with (negative dot product), in a random
 * order of the others, then the projected gradients are added. The others are taken as they came
 * (unprojected), as in the paper. In sync mode the tasks are those of the round; in async mode one
 * gradient arrives at a time and is projected against each other task's latest gradient no older
 * than {@code maxAge} versions. Confined to the shared-parameter actor.
 */
final class PCGrad implements Aggregation {

  private record Remembered(Map<String, INDArray> gradient, long version) {}

  private final int maxAge;
  private final SplittableRandom random;
  private final Map<String, Remembered> latest = new HashMap<>();

  PCGrad(int maxAge, long seed) {
    this.maxAge = maxAge;
    this.random = new SplittableRandom(seed);
  }

  @Override
  public Map<String, Map<String, INDArray>> combine(List<StepGradient> steps, long version) {
    Map<String, Map<String, INDArray>> byTask = TaskGradients.sumByTask(steps);
    Map<String, Map<String, INDArray>> others = new LinkedHashMap<>();
    latest.forEach((task, remembered) -> {
      if (!byTask.containsKey(task) && version - remembered.version() <= maxAge) {
        others.put(task, remembered.gradient());
      }
    });
    Map<String, Map<String, INDArray>> originals = new LinkedHashMap<>();
    byTask.forEach((task, gradient) -> originals.put(task, copy(gradient)));
    others.putAll(originals);
    for (Map.Entry<String, Map<String, INDArray>> entry : byTask.entrySet()) {
      List<String> order = new ArrayList<>(others.keySet());
      order.remove(entry.getKey());
      shuffle(order);
      for (String other : order) {
        projectOffInPlace(entry.getValue(), others.get(other));
      }
    }
    originals.forEach((task, gradient) -> latest.put(task, new Remembered(gradient, version)));
    return byTask;
  }

  /** Removes from {@code gradient} its component along {@code other} if they conflict. */
  static void projectOffInPlace(Map<String, INDArray> gradient, Map<String, INDArray> other) {
    double dot = TaskGradients.dot(gradient, other);
    if (dot >= 0) {
      return;
    }
    double norm = TaskGradients.dot(other, other);
    if (norm == 0) {
      return;
    }
    double factor = dot / norm;
    gradient.forEach((module, g) -> {
      INDArray o = other.get(module);
      if (o != null) {
        g.subi(o.mul(factor));
      }
    });
  }

  private void shuffle(List<String> order) {
    for (int i = order.size() - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      String swap = order.get(i);
      order.set(i, order.get(j));
      order.set(j, swap);
    }
  }

  private static Map<String, INDArray> copy(Map<String, INDArray> gradient) {
    Map<String, INDArray> copy = new LinkedHashMap<>();
    gradient.forEach((module, g) -> copy.put(module, g.dup()));
    return copy;
  }
}
