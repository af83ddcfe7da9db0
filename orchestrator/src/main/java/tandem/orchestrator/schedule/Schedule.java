package tandem.orchestrator.schedule;

import java.util.List;

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

  /** The schedule a plan names ({@code round_robin} or {@code random}) over {@code tasks}. */
  static Schedule create(String policy, List<String> tasks, long seed) {
    return switch (policy) {
      case "round_robin" -> new RoundRobin(tasks);
      case "random" -> new UniformRandom(tasks, seed);
      default -> throw new IllegalArgumentException("unknown schedule policy '" + policy + "'");
    };
  }
}
