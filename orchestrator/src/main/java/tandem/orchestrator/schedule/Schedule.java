package tandem.orchestrator.schedule;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import tandem.model.spec.ScheduleSettings;

/**
 * Picks the task of the next step. {@link #peek()} names it without committing, so the
 * coordinator can hold a step back while the task's worker has no credit; {@link #advance()}
 * commits. Confined to the coordinator.
 */
public interface Schedule {

  /** The task the next step trains; the same until {@link #advance()}. */
  String peek();

  /** Commits the peeked task and moves on. */
  void advance();

  /**
   * The schedule {@code settings} describe over {@code tasks} (in spec order), whose training
   * sets have {@code sizes} examples; random draws come from {@code random}.
   */
  static Schedule create(ScheduleSettings settings, List<String> tasks, Map<String, Integer> sizes,
      SplittableRandom random) {
    double[] weights = new double[tasks.size()];
    for (int i = 0; i < tasks.size(); i++) {
      String task = tasks.get(i);
      weights[i] = switch (settings.policy()) {
        case "round_robin", "random" -> 1.0;
        case "proportional" -> sizes.get(task);
        case "temperature" -> Math.pow(sizes.get(task), 1.0 / settings.temperature());
        case "weighted" -> settings.weights().getOrDefault(task, 0.0);
        default -> throw new IllegalArgumentException(
            "unknown schedule policy '" + settings.policy() + "'");
      };
    }
    return settings.policy().equals("round_robin")
        ? new RoundRobin(tasks) : new WeightedRandom(tasks, weights, random);
  }
}
