package tandem.orchestrator.job;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import tandem.worker.DirectTrunk;
import tandem.worker.TrunkSnapshot;
import tandem.worker.Worker;

/**
 * The {@link DirectTrunk} of an async job whose workers all share this JVM: the job's
 * {@link MasterCopy}, updated by the workers on their own threads, one update at a time under
 * this object's lock, and read by the shared-parameter actor under the same lock (checkpoints,
 * the final collection). Which version each worker reads decides which replaced arrays an update
 * may reuse, as {@link TrunkOffers} does for versions sent by message. Thread-safe.
 */
final class DirectUpdates implements DirectTrunk {

  private final MasterCopy master;
  private final ArrivedSteps arrived = new ArrivedSteps();
  /** The version each worker reads, from its latest {@link #newest} call. */
  private final Map<ActorRef<Worker.Command>, Long> reading = new HashMap<>();

  DirectUpdates(MasterCopy master) {
    this.master = master;
  }

  @Override
  public synchronized TrunkSnapshot newest(ActorRef<Worker.Command> reader) {
    TrunkSnapshot current = master.current();
    reading.put(reader, current.version());
    return current;
  }

  @Override
  public synchronized Applied apply(Worker.SharedGradients gradients) {
    long current = master.current().version();
    if (!arrived.firstArrival(gradients.step())) {
      // A step re-run after its worker was lost, whose first gradient was applied: it counts once.
      return new Applied(current, current - gradients.trunkVersion(), true);
    }
    MasterCopy.Applied applied = master.apply(List.of(gradients), oldestRead());
    SharedParameters.AppliedStep step = applied.steps().get(0);
    return new Applied(applied.version().version(), step.staleness(), step.dropped());
  }

  /** The oldest version a worker reads (the current one when none does). */
  synchronized long oldestRead() {
    long oldest = master.current().version();
    for (long version : reading.values()) {
      oldest = Math.min(oldest, version);
    }
    return oldest;
  }

  /** {@code worker} reads no version any more (it stopped). */
  synchronized void forget(ActorRef<Worker.Command> worker) {
    reading.remove(worker);
  }

  /** {@code read} of the master copy, with no update running meanwhile. */
  synchronized <T> T read(Function<MasterCopy, T> read) {
    return read.apply(master);
  }
}
