package tandem.orchestrator.job;

import java.util.ArrayDeque;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.worker.TrunkSnapshot;

/**
 * The arrays that newer versions of a job's shared modules replaced, reused for the next
 * versions instead of a new ND4J array per version (whose allocation and deallocation cost more
 * than writing the next version into an old one: the optimizer writes it there straight from the
 * current values). Published snapshots are never written while someone may read
 * them (see {@link TrunkSnapshot}):
 *
 * <ul>
 *   <li>Sync: a module's array of the version before the current one is reused. Every step that
 *       read it belonged to a round that is applied (a round's steps all compute on one version,
 *       and the next round waits for the next version), and other readers (evaluation,
 *       parameter fetches) ask for the latest version or copy.
 *   <li>Async: a step may read any recent version, so an array is reused only once every
 *       worker holds a newer version than the last one that array held (a worker's replica only
 *       moves forward, see {@link TrunkOffers}); at most {@link #MAX_REPLACED} per module are
 *       kept, so a worker that never moves on does not hold every version.
 * </ul>
 *
 * <p>The job's starting arrays are never reused. Plain class, used by one thread at a time
 * (see {@link MasterCopy}).
 */
final class VersionArrays {

  /** Async: replaced arrays kept per module for reuse, at most. */
  static final int MAX_REPLACED = 16;

  private record Replaced(long lastVersion, INDArray array) {}

  private final boolean async;
  /** Async: per module, replaced arrays, oldest first, each with the last version it held. */
  private final Map<String, ArrayDeque<Replaced>> replaced = new HashMap<>();
  /** Sync: each module's array of the version before the current one. */
  private final Map<String, INDArray> spare = new HashMap<>();
  private final Set<INDArray> startingArrays = Collections.newSetFromMap(new IdentityHashMap<>());

  VersionArrays(boolean async, TrunkSnapshot start) {
    this.async = async;
    startingArrays.addAll(start.parameters().values());
  }

  /**
   * An array shaped as {@code source} (a module's current parameters) that nobody reads, its
   * contents undefined: a reused one when there is one, else a new one; for an update that
   * writes every element ({@link tandem.model.optim.OptimizerState#applyInto}).
   */
  INDArray writable(String module, INDArray source, long unreadBelow) {
    INDArray reused = async ? unread(module, unreadBelow) : spare.remove(module);
    return reused == null ? source.ulike() : reused;
  }

  /** {@code module}'s array {@code old}, last holding version {@code version}, was replaced. */
  void replaced(String module, long version, INDArray old) {
    if (!async) {
      spare.put(module, old);
      return;
    }
    if (startingArrays.contains(old)) {
      return;
    }
    ArrayDeque<Replaced> arrays = replaced.computeIfAbsent(module, m -> new ArrayDeque<>());
    arrays.addLast(new Replaced(version, old));
    if (arrays.size() > MAX_REPLACED) {
      arrays.pollFirst();
    }
  }

  private INDArray unread(String module, long unreadBelow) {
    ArrayDeque<Replaced> arrays = replaced.get(module);
    if (arrays == null || arrays.isEmpty()) {
      return null;
    }
    return arrays.peekFirst().lastVersion() < unreadBelow ? arrays.pollFirst().array() : null;
  }
}
