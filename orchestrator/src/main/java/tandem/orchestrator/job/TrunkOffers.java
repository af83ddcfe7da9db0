package tandem.orchestrator.job;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import tandem.worker.Worker;

/**
 * Which version of the shared modules goes to which worker, coalesced: a worker only ever needs
 * the newest, so each worker has at most one version on its way ({@link Worker.OfferTrunkVersion})
 * and gets the next, the newest by then, once it says it holds that one
 * ({@link Worker.TrunkVersionHeld}). A slow worker (a remote one, or one busy with a long step)
 * thus finds at most one trunk copy in its mailbox per job instead of one per version.
 *
 * <p>Also tells which versions a worker may still read: its replica only moves forward, so no
 * worker reads a version older than the oldest one held ({@link #oldestHeld}).
 *
 * <p>Plain class, confined to the shared-parameter actor.
 */
final class TrunkOffers {

  private static final class Replica {
    /** The newest version the worker said it holds (the job's start until it says one). */
    long held;
    /** The version on its way to the worker; -1: none. */
    long offered = -1;
  }

  private final Map<ActorRef<Worker.Command>, Replica> replicas = new LinkedHashMap<>();

  /** Every worker starts with {@code startVersion} (it came with the task assignment). */
  TrunkOffers(List<ActorRef<Worker.Command>> workers, long startVersion) {
    for (ActorRef<Worker.Command> worker : workers) {
      Replica replica = new Replica();
      replica.held = startVersion;
      replicas.put(worker, replica);
    }
  }

  /**
   * Version {@code version} is the newest: the workers it goes to now, each marked as having it
   * on its way; the others get it (or a newer one) once they hold the version on its way.
   */
  List<ActorRef<Worker.Command>> publish(long version) {
    List<ActorRef<Worker.Command>> now = new ArrayList<>();
    replicas.forEach((worker, replica) -> {
      if (replica.offered < 0 && replica.held < version) {
        replica.offered = version;
        now.add(worker);
      }
    });
    return now;
  }

  /**
   * {@code worker} holds {@code version}; returns whether the newest version, {@code newest},
   * goes to it now (marked as on its way).
   */
  boolean held(ActorRef<Worker.Command> worker, long version, long newest) {
    Replica replica = replicas.get(worker);
    if (replica == null) {
      return false;
    }
    replica.held = Math.max(replica.held, version);
    if (replica.offered <= version) {
      replica.offered = -1;
    }
    if (replica.offered < 0 && replica.held < newest) {
      replica.offered = newest;
      return true;
    }
    return false;
  }

  /** A worker stopped: it reads nothing any more. */
  void remove(ActorRef<Worker.Command> worker) {
    replicas.remove(worker);
  }

  /** The oldest version a worker holds; {@code Long.MAX_VALUE} when there is no worker. */
  long oldestHeld() {
    long oldest = Long.MAX_VALUE;
    for (Replica replica : replicas.values()) {
      oldest = Math.min(oldest, replica.held);
    }
    return oldest;
  }
}
