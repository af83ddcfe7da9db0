package tandem.worker;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.IntFunction;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's worker actors, supervised by the actor that owns this (their parent): worker
 * {@code i} runs in slot {@code i} on its own dispatcher, and once it has reported ready
 * ({@link Worker.WorkerReady}) it is one of the {@link #ready()} workers. A worker that stops (an
 * exception outside a step's computation stops it, Pekko's default) leaves its slot at once, and
 * a fresh worker takes the slot (same dispatcher, a new actor name) and is ready again once it
 * says so. The coordinators of the stopped worker's jobs watch it and move its tasks; a fresh
 * actor rather than a restart in place, so that they are told and no job meets a worker that
 * lost its tasks. A worker that stops before it was ever ready (its device cannot be bound) is
 * not replaced: it would fail the same way again.
 *
 * <p>Plain class, confined to the owning actor, which passes on its {@code Terminated} signals
 * and the ready reports that come to {@code readyTo}.
 */
public final class WorkerSlots {

  /** The behaviour of slot {@code index}'s worker, which reports ready to {@code readyTo}. */
  public interface Factory {
    Behavior<Worker.Command> create(int index, String actorName,
        ActorRef<Worker.WorkerReady> readyTo);
  }

  private static final Logger LOG = LoggerFactory.getLogger(WorkerSlots.class);

  private final ActorContext<?> context;
  private final Factory factory;
  private final IntFunction<DispatcherSelector> dispatchers;
  private final ActorRef<Worker.WorkerReady> readyTo;
  private final Worker.WorkerReady[] ready;
  private final int[] incarnations;
  private final boolean[] settled;
  private final Map<ActorRef<Worker.Command>, Integer> slotOf = new HashMap<>();

  /** Spawns {@code count} workers, worker {@code i} on {@code dispatchers.apply(i)}. */
  public WorkerSlots(ActorContext<?> context, int count, Factory factory,
      IntFunction<DispatcherSelector> dispatchers, ActorRef<Worker.WorkerReady> readyTo) {
    this.context = context;
    this.factory = factory;
    this.dispatchers = dispatchers;
    this.readyTo = readyTo;
    this.ready = new Worker.WorkerReady[count];
    this.incarnations = new int[count];
    this.settled = new boolean[count];
    for (int i = 0; i < count; i++) {
      spawn(i);
    }
  }

  /** The slot's base actor name; a replacement adds its incarnation. */
  public static String actorName(int slot) {
    return "worker-" + slot;
  }

  /** A worker reported ready; returns whether it is one of this node's. */
  public boolean ready(Worker.WorkerReady report) {
    Integer slot = slotOf.get(report.worker());
    if (slot == null) {
      return false;
    }
    ready[slot] = report;
    settled[slot] = true;
    return true;
  }

  /**
   * An actor stopped; returns whether it was one of this node's workers (then out of the ready
   * workers, and replaced if it had been ready).
   */
  public boolean stopped(ActorRef<?> ref) {
    Integer slot = slotOf.remove(ref.<Worker.Command>unsafeUpcast());
    if (slot == null) {
      return false;
    }
    boolean wasReady = ready[slot] != null;
    ready[slot] = null;
    if (org.apache.pekko.actor.CoordinatedShutdown.get(context.getSystem()).getShutdownReason()
        .isPresent()) {
      return true;
    }
    if (wasReady) {
      LOG.warn("{} stopped; a fresh worker takes its place", actorName(slot));
      incarnations[slot]++;
      spawn(slot);
    } else {
      LOG.error("{} stopped before it was ready; not replaced", actorName(slot));
      settled[slot] = true;
    }
    return true;
  }

  /** The workers that are ready, by slot, in slot order. */
  public Map<Integer, Worker.WorkerReady> ready() {
    Map<Integer, Worker.WorkerReady> workers = new LinkedHashMap<>();
    for (int slot = 0; slot < ready.length; slot++) {
      if (ready[slot] != null) {
        workers.put(slot, ready[slot]);
      }
    }
    return workers;
  }

  /** Whether every first worker has reported ready or stopped (the node's start is over). */
  public boolean started() {
    for (boolean slot : settled) {
      if (!slot) {
        return false;
      }
    }
    return true;
  }

  private void spawn(int slot) {
    String name = incarnations[slot] == 0 ? actorName(slot)
        : actorName(slot) + "-" + incarnations[slot];
    ActorRef<Worker.Command> worker = context.spawn(
        factory.create(slot, name, readyTo), name, dispatchers.apply(slot));
    context.watch(worker);
    slotOf.put(worker, slot);
  }
}
