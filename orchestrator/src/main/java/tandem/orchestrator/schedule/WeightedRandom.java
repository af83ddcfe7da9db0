package tandem.orchestrator.schedule;

import java.util.List;
import java.util.SplittableRandom;

/**
 * Each step's task drawn independently with probability proportional to its weight, from a
 * seeded stream: uniform, proportional to data set size, temperature-scaled sizes and explicit
 * weights are all this with different weights. Confined to the coordinator.
 */
public final class WeightedRandom implements Schedule {

  private final List<String> tasks;
  private final double[] cumulative;
  private final SplittableRandom random;
  private String drawn;

  /** {@code weights[i]} is task i's; non-negative, at least one positive. */
  public WeightedRandom(List<String> tasks, double[] weights, SplittableRandom random) {
    if (tasks.isEmpty() || tasks.size() != weights.length) {
      throw new IllegalArgumentException("expected one weight per task, found " + weights.length
          + " weights for " + tasks.size() + " tasks");
    }
    this.tasks = List.copyOf(tasks);
    this.cumulative = new double[weights.length];
    double total = 0;
    for (int i = 0; i < weights.length; i++) {
      if (!(weights[i] >= 0) || Double.isInfinite(weights[i])) {
        throw new IllegalArgumentException("task " + tasks.get(i) + ": expected a finite weight"
            + " >= 0, found " + weights[i]);
      }
      total += weights[i];
      cumulative[i] = total;
    }
    if (!(total > 0)) {
      throw new IllegalArgumentException("expected a positive weight for at least one task");
    }
    for (int i = 0; i < cumulative.length; i++) {
      cumulative[i] /= total;
    }
    this.random = random;
    this.drawn = draw();
  }

  /** The probability of drawing task {@code i}. */
  public double probability(int i) {
    return cumulative[i] - (i == 0 ? 0 : cumulative[i - 1]);
  }

  @Override
  public String peek() {
    return drawn;
  }

  @Override
  public void advance() {
    drawn = draw();
  }

  private String draw() {
    double u = random.nextDouble();
    for (int i = 0; i < cumulative.length - 1; i++) {
      if (u < cumulative[i]) {
        return tasks.get(i);
      }
    }
    // Rounding can leave the last cumulative a hair below 1; zero-weight tails are skipped.
    for (int i = cumulative.length - 1; i > 0; i--) {
      if (probability(i) > 0) {
        return tasks.get(i);
      }
    }
    return tasks.get(0);
  }
}
