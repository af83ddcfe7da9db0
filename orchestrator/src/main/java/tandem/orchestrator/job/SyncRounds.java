package tandem.orchestrator.job;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import tandem.worker.Worker;

/**
 * Sync mode's rounds: the coordinator announces how many steps compute on each version
 * ({@link SharedParameters.ExpectRound}), their gradients arrive in any order (before or after
 * the announcement), and a round is ready once all its gradients are in, in step order so that
 * sums do not depend on timing. Plain class, confined to the shared-parameter actor.
 */
final class SyncRounds {

  private final Map<Long, Integer> expected = new HashMap<>();
  private final TreeMap<Long, List<Worker.SharedGradients>> arrived = new TreeMap<>();

  /** The round computing on {@code version} has {@code steps} steps. */
  void expect(long version, int steps) {
    expected.put(version, steps);
  }

  /** Rounds announced and not applied yet. */
  int announced() {
    return expected.size();
  }

  /** A gradient of the round on the version it read. */
  void arrived(Worker.SharedGradients gradients) {
    arrived.computeIfAbsent(gradients.trunkVersion(), v -> new ArrayList<>()).add(gradients);
  }

  /** The round on {@code version}, taken out, if it is announced and complete. */
  Optional<List<Worker.SharedGradients>> takeComplete(long version) {
    Integer steps = expected.get(version);
    List<Worker.SharedGradients> round = arrived.get(version);
    if (steps == null || round == null || round.size() < steps) {
      return Optional.empty();
    }
    expected.remove(version);
    arrived.remove(version);
    round.sort(Comparator.comparingLong(Worker.SharedGradients::step));
    return Optional.of(round);
  }
}
