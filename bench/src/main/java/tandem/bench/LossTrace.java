package tandem.bench;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The loss of every step of a run, in step order, with the task each step trained: what lets a
 * benchmark check that two paths computed the same thing, not only how fast. Immutable.
 */
public record LossTrace(List<String> tasks, double[] losses) {

  public LossTrace {
    if (tasks.size() != losses.length) {
      throw new IllegalArgumentException("expected one task per loss, found " + tasks.size()
          + " tasks and " + losses.length + " losses");
    }
    tasks = List.copyOf(tasks);
    losses = losses.clone();
  }

  /** The loss of each task's last step, in order of first appearance. */
  public Map<String, Double> finalLosses() {
    Map<String, Double> last = new LinkedHashMap<>();
    for (int i = 0; i < losses.length; i++) {
      last.put(tasks.get(i), losses[i]);
    }
    return last;
  }

  /**
   * The largest |difference| between the two traces' step losses; infinite when they trained
   * different tasks or a different number of steps, so that a mismatch cannot pass for agreement.
   */
  public double maxAbsDifference(LossTrace other) {
    if (!tasks.equals(other.tasks)) {
      return Double.POSITIVE_INFINITY;
    }
    double max = 0;
    for (int i = 0; i < losses.length; i++) {
      max = Math.max(max, Math.abs(losses[i] - other.losses[i]));
    }
    return max;
  }

  /** Whether every step loss is the same double, bit for bit. */
  public boolean identicalTo(LossTrace other) {
    return tasks.equals(other.tasks) && Arrays.equals(losses, other.losses);
  }
}
