package tandem.orchestrator.job;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import tandem.worker.DirectTrunk;
import tandem.worker.TrunkSnapshot;
import tandem.worker.Worker;

/**
 * The {@link DirectTrunk} of an async job whose workers all share this JVM (or a sync job on one
 * worker here): the job's {@link MasterCopy}, updated by the workers on their own threads, one
 * update at a time under one lock, and read by the shared-parameter actor under the same lock
 * (checkpoints, the final collection). Which version each worker reads decides which replaced
 * arrays an update may reuse, as {@link TrunkOffers} does for versions sent by message.
 *
 * <p>Thread-safe. Reading the newest version takes no lock: it is published (volatile) once its
 * update is complete, and a worker records the version it reads after reading it, so an update
 * that looks at the records meanwhile still sees the worker's previous, older version, which
 * protects the newer one too (an array is reused only when the version it last held is older
 * than every record); a worker's first read, with no record yet, takes the lock. Updates wait
 * for each other spinning first: an update takes about 15 us, and a worker that parked on the
 * lock waited tens of microseconds more to be woken (bench/run.sh async, two workers on the
 * 2-core machine). A worker with more steps queued does not wait at all
 * ({@link #applyAllUnlessBusy}): it keeps its gradients for its next step; with two workers,
 * that took the time spent spinning here from about 6% of the workers' samples to under 1%
 * (Java Flight Recorder, bench/run.sh async).
 */
final class DirectUpdates implements DirectTrunk {

  /** Tries to take the lock before parking on it: about 20 to 50 us of spinning here. */
  private static final int SPINS = 20_000;

  private final MasterCopy master;
  private final ReentrantLock lock = new ReentrantLock();
  /** Under the lock. */
  private final ArrivedSteps arrived = new ArrivedSteps();
  /** The master copy's current version, published once complete. */
  private volatile TrunkSnapshot published;
  /** The version each worker reads, from its latest {@link #newest} call; only ever grows. */
  private final Map<ActorRef<Worker.Command>, Long> reading = new ConcurrentHashMap<>();

  DirectUpdates(MasterCopy master) {
    this.master = master;
    this.published = master.current();
  }

  @Override
  public TrunkSnapshot newest(ActorRef<Worker.Command> reader) {
    if (!reading.containsKey(reader)) {
      // A first read has no older record to protect the version it reads until it records it:
      // under the lock, so that no update picks arrays in between.
      lock();
      try {
        return record(reader, master.current());
      } finally {
        lock.unlock();
      }
    }
    return record(reader, published);
  }

  /** Records that {@code reader} reads {@code version} from now on; returns it. */
  private TrunkSnapshot record(ActorRef<Worker.Command> reader, TrunkSnapshot version) {
    reading.merge(reader, version.version(), Math::max);
    return version;
  }

  @Override
  public Applied apply(Worker.SharedGradients gradients) {
    return applyAll(List.of(gradients)).get(0);
  }

  @Override
  public List<Applied> applyAll(List<Worker.SharedGradients> gradients) {
    lock();
    return applyAllLocked(gradients);
  }

  @Override
  public Optional<List<Applied>> applyAllUnlessBusy(List<Worker.SharedGradients> gradients) {
    return lock.tryLock() ? Optional.of(applyAllLocked(gradients)) : Optional.empty();
  }

  /**
   * Applies {@code gradients} in order, the lock taken, in one pass of the optimizer over them
   * ({@link MasterCopy#applyEach}); releases it.
   */
  private List<Applied> applyAllLocked(List<Worker.SharedGradients> gradients) {
    try {
      List<Worker.SharedGradients> first = new ArrayList<>(gradients.size());
      for (Worker.SharedGradients step : gradients) {
        // A step re-run after its worker was lost, whose first gradient was applied, counts once.
        if (arrived.firstArrival(step.step())) {
          first.add(step);
        }
      }
      long before = master.current().version();
      List<SharedParameters.AppliedStep> steps = first.isEmpty() ? List.of()
          : master.applyEach(first, oldestRead()).steps();
      published = master.current();
      List<Applied> applied = new ArrayList<>(gradients.size());
      long version = before;
      int next = 0;
      for (Worker.SharedGradients step : gradients) {
        if (next < first.size() && first.get(next) == step) {
          SharedParameters.AppliedStep done = steps.get(next++);
          version += done.dropped() ? 0 : 1;
          applied.add(new Applied(version, done.staleness(), done.dropped()));
        } else {
          applied.add(new Applied(version, version - step.trunkVersion(), true));
        }
      }
      return applied;
    } finally {
      lock.unlock();
    }
  }

  /** The oldest version a worker reads (the current one when none does). */
  long oldestRead() {
    long oldest = master.current().version();
    for (long version : reading.values()) {
      oldest = Math.min(oldest, version);
    }
    return oldest;
  }

  /** {@code worker} reads no version any more (it stopped). */
  void forget(ActorRef<Worker.Command> worker) {
    reading.remove(worker);
  }

  /** {@code read} of the master copy, with no update running meanwhile. */
  <T> T read(Function<MasterCopy, T> read) {
    lock();
    try {
      return read.apply(master);
    } finally {
      lock.unlock();
    }
  }

  private void lock() {
    for (int i = 0; i < SPINS; i++) {
      if (lock.tryLock()) {
        return;
      }
      Thread.onSpinWait();
    }
    lock.lock();
  }
}
