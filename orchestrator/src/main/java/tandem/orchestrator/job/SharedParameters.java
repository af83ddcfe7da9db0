package tandem.orchestrator.job;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.model.spec.TrainingPlan;
import tandem.worker.DirectTrunk;
import tandem.worker.OptimizerSnapshot;
import tandem.worker.TrunkSnapshot;
import tandem.worker.Worker;

/**
 * The shared-parameter actor of one job: keeps the {@link MasterCopy} of the shared modules and
 * their optimizer state, and applies the workers' gradients. In {@code sync} mode the coordinator
 * announces each round's size ({@link ExpectRound}) and the round is applied once all its
 * gradients are in ({@link SyncRounds}); in {@code async} mode each gradient is applied on
 * arrival, after the job's {@link StaleGradientPolicy}. Each new version goes to the job's
 * workers, coalesced ({@link TrunkOffers}: at most one on its way to each worker, the newest),
 * and is reported to the coordinator with every step's staleness. An async job whose workers
 * all share this JVM skips those messages ({@link #directFor}): its workers read the newest
 * version and apply their own gradients through {@link DirectUpdates}, on their own threads,
 * and report each step's staleness to the coordinator with its outcome; the actor then answers
 * state requests under the same lock.
 *
 * <p>Threading: the updates are the heavy part (in async mode a whole-trunk optimizer step per
 * gradient). On a worker's thread (a sync job's actor shares its first worker's thread, which
 * waits for the round anyway) and on {@code tandem.orchestrator.shared-parameters-dispatcher}
 * (where async jobs' actors run) they run in place; on the default dispatcher they run on that
 * pool, one update of this job at a time, while the actor queues what arrives meanwhile and
 * answers state requests after it.
 *
 * <p>Child of the job's coordinator, which watches it: an exception here stops it, and the
 * coordinator fails the job. Watches the workers: a stopped one holds no version back. State
 * confined to the actor, except the master copy while an update runs on the pool.
 */
public final class SharedParameters extends AbstractBehavior<SharedParameters.Command> {

  /** Messages the shared-parameter actor accepts. */
  public sealed interface Command {}

  /** Sync mode: the round computing on {@code version} has {@code steps} steps. */
  public record ExpectRound(long version, int steps) implements Command {}

  /** Send copies of the master parameters. */
  public record GetParameters(ActorRef<Parameters> replyTo) implements Command {}

  /** Reply to {@link GetParameters}. */
  public record Parameters(long version, Map<String, INDArray> parameters) {}

  /** Send copies of the master parameters and of every optimizer state, for a checkpoint. */
  public record GetState(ActorRef<State> replyTo) implements Command {}

  /**
   * Reply to {@link GetState}; optimizer states by {@link #optimizerKey(String, String)}.
   */
  public record State(long version, Map<String, INDArray> parameters,
      Map<String, OptimizerSnapshot> optimizers) {}

  /** What the shared-parameter actor tells its coordinator. */
  public sealed interface Report {}

  /**
   * Sent once at start: where workers send their shared gradients, and the {@link DirectTrunk}
   * they update the shared modules through instead when the actor was made with one (else null).
   */
  public record Ready(ActorRef<Worker.SharedGradients> gradients, DirectTrunk direct)
      implements Report {}

  /** A step whose gradient was handled: its staleness, and whether it was dropped. */
  public record AppliedStep(long step, long staleness, boolean dropped) {}

  /** Sent after each round (sync) or gradient (async), with the version now current. */
  public record VersionApplied(long version, List<AppliedStep> steps) implements Report {}

  /** Sync: several rounds' {@link VersionApplied} reports, in version order, in one message. */
  public record VersionsApplied(List<VersionApplied> reports) implements Report {}

  private record GradientsArrived(Worker.SharedGradients gradients) implements Command {}

  private record VersionHeld(Worker.TrunkVersionHeld held) implements Command {}

  /** The updates started by {@link #drain}, done on the pool (or failed). */
  private record UpdatesDone(List<List<Worker.SharedGradients>> updates,
      List<MasterCopy.Applied> applied, Throwable error) implements Command {}

  /** The dispatcher updates run on when the actor runs on the default one. */
  static final String UPDATE_DISPATCHER = "tandem.orchestrator.shared-parameters-dispatcher";

  /** Sync: reports held back at most, whatever the rounds announced; see {@link #published}. */
  private static final int MAX_HELD_REPORTS = 64;

  /**
   * @param initial version 0 of the shared modules (already sent to the workers)
   * @param workers every worker with tasks of this job: each gets the new versions
   */
  public static Behavior<Command> create(String jobId, TrainingPlan plan, TrunkSnapshot initial,
      List<ActorRef<Worker.Command>> workers, ActorRef<Report> coordinator) {
    return create(jobId, plan, initial, Map.of(), workers, coordinator);
  }

  /**
   * A shared-parameter actor resumed from a checkpoint: {@code initial} at the checkpoint's
   * version, {@code optimizers} by {@link #optimizerKey(String, String)}.
   */
  public static Behavior<Command> create(String jobId, TrainingPlan plan, TrunkSnapshot initial,
      Map<String, OptimizerSnapshot> optimizers, List<ActorRef<Worker.Command>> workers,
      ActorRef<Report> coordinator) {
    return create(jobId, plan, initial, optimizers, workers, coordinator, false);
  }

  /**
   * As above; with {@code direct} (where {@link #directFor} allows it), the workers update the
   * shared modules in place through the {@link DirectTrunk} that {@link Ready} carries, on their
   * own threads, and this actor answers state requests and still applies any gradient sent to
   * it.
   */
  public static Behavior<Command> create(String jobId, TrainingPlan plan, TrunkSnapshot initial,
      Map<String, OptimizerSnapshot> optimizers, List<ActorRef<Worker.Command>> workers,
      ActorRef<Report> coordinator, boolean direct) {
    if (direct && !directFor(plan, workers)) {
      throw new IllegalArgumentException("job " + jobId + ": only async jobs and sync jobs on"
          + " one worker, all of whose workers run in this JVM, update the shared modules in"
          + " place");
    }
    return Behaviors.setup(context -> new SharedParameters(context, jobId, plan,
        new MasterCopy(plan, initial, optimizers), workers, coordinator, direct));
  }

  /**
   * Whether a job's workers can update its shared modules in place ({@link DirectTrunk}): every
   * one of them is an actor of this JVM, and each update is one step's gradient, as in async
   * mode or in sync mode on one worker (a round of one step; its update is the same arithmetic
   * whoever runs it). A sync job on one worker then costs no hand-over to this actor and back per
   * step (bench/run.sh two-head).
   */
  public static boolean directFor(TrainingPlan plan, List<ActorRef<Worker.Command>> workers) {
    return (plan.consistency().async() || workers.size() == 1)
        && workers.stream().allMatch(worker -> worker.path().address().hasLocalScope());
  }

  /** The key of a shared module's optimizer state: the module, or the module and the task. */
  public static String optimizerKey(String module, String task) {
    return new OptimizerKey(module, task).encoded();
  }

  private final String jobId;
  private final boolean async;
  private final ActorRef<Report> coordinator;
  private final MasterCopy master;
  /** The workers' way to the master copy in place; null: gradients come by message only. */
  private final DirectUpdates direct;
  private final SyncRounds rounds = new SyncRounds();
  private final TrunkOffers offers;
  private final ArrivedSteps arrivedSteps = new ArrivedSteps();
  /** Gradients ready to apply, each entry one update (a sync round, or an async gradient). */
  private final ArrayDeque<List<Worker.SharedGradients>> ready = new ArrayDeque<>();
  /** State requests that came while an update ran on the pool. */
  private final ArrayDeque<Command> deferred = new ArrayDeque<>();
  private final ActorRef<Worker.TrunkVersionHeld> held;
  /** Where updates run; null: in place, on the actor's own (a worker's) thread. */
  private final Executor updates;
  /** The newest version, as far as the actor knows (the master copy may be ahead mid-update). */
  private TrunkSnapshot newest;
  private boolean updating;
  /** Sync: {@link VersionApplied} reports not sent yet, oldest first. */
  private final List<VersionApplied> heldReports = new ArrayList<>();

  private SharedParameters(ActorContext<Command> context, String jobId, TrainingPlan plan,
      MasterCopy master, List<ActorRef<Worker.Command>> workers, ActorRef<Report> coordinator,
      boolean direct) {
    super(context);
    this.jobId = jobId;
    this.async = plan.consistency().async();
    this.coordinator = coordinator;
    this.master = master;
    this.direct = direct ? new DirectUpdates(master) : null;
    this.newest = master.current();
    this.offers = new TrunkOffers(workers, newest.version());
    workers.forEach(context::watch);
    this.held = context.messageAdapter(Worker.TrunkVersionHeld.class, VersionHeld::new);
    var dispatchers = context.getSystem().dispatchers();
    this.updates = context.getExecutionContext()
        == dispatchers.lookup(DispatcherSelector.defaultDispatcher())
        ? dispatchers.lookup(DispatcherSelector.fromConfig(UPDATE_DISPATCHER)) : null;
    coordinator.tell(new Ready(
        context.messageAdapter(Worker.SharedGradients.class, GradientsArrived::new),
        this.direct));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(ExpectRound.class, this::onExpectRound)
        .onMessage(GradientsArrived.class, this::onGradientsArrived)
        .onMessage(GetParameters.class, this::onGetParameters)
        .onMessage(GetState.class, this::onGetState)
        .onMessage(VersionHeld.class, this::onVersionHeld)
        .onMessage(UpdatesDone.class, this::onUpdatesDone)
        .onSignal(Terminated.class, this::onTerminated)
        .build();
  }

  private Behavior<Command> onExpectRound(ExpectRound command) {
    rounds.expect(command.version(), command.steps());
    drain();
    return this;
  }

  private Behavior<Command> onGradientsArrived(GradientsArrived message) {
    Worker.SharedGradients gradients = message.gradients();
    if (!arrivedSteps.firstArrival(gradients.step())) {
      // A step re-run after its worker was lost, whose first gradient had already come: it
      // counts once, or a sync round would close on it with another step's gradient missing.
      getContext().getLog().info("job {}: a second gradient for step {} ignored", jobId,
          gradients.step());
      return this;
    }
    if (async) {
      ready.add(List.of(gradients));
    } else {
      rounds.arrived(gradients);
    }
    drain();
    return this;
  }

  private Behavior<Command> onGetParameters(GetParameters command) {
    if (updating) {
      deferred.add(command);
    } else {
      command.replyTo().tell(locked(m -> new Parameters(version(), m.copyOfParameters())));
    }
    return this;
  }

  private Behavior<Command> onGetState(GetState command) {
    if (updating) {
      deferred.add(command);
    } else {
      command.replyTo().tell(locked(m -> new State(version(), m.copyOfParameters(),
          m.copyOfOptimizers())));
    }
    return this;
  }

  private Behavior<Command> onVersionHeld(VersionHeld message) {
    Worker.TrunkVersionHeld version = message.held();
    if (offers.held(version.worker(), version.version(), newest.version())) {
      version.worker().tell(new Worker.OfferTrunkVersion(jobId, newest, held));
    }
    return this;
  }

  private Behavior<Command> onUpdatesDone(UpdatesDone message) {
    updating = false;
    if (message.error() != null) {
      // A bug in an update: stop, and the coordinator fails the job.
      throw new IllegalStateException("job " + jobId + ": applying shared gradients failed",
          message.error());
    }
    published(message.updates(), message.applied());
    drain();
    return this;
  }

  private Behavior<Command> onTerminated(Terminated signal) {
    // The coordinator moves a lost worker's steps: it must know which gradients are in.
    flushReports();
    offers.remove(signal.getRef().unsafeUpcast());
    if (direct != null) {
      direct.forget(signal.getRef().unsafeUpcast());
    }
    return this;
  }

  /** {@code read} of the master copy; with workers updating it in place, under their lock. */
  private <T> T locked(java.util.function.Function<MasterCopy, T> read) {
    return direct == null ? read.apply(master) : direct.read(read);
  }

  /** The version of the master copy now (with workers updating it in place, theirs). */
  private long version() {
    return direct == null ? newest.version() : master.current().version();
  }

  /**
   * Starts the updates that are ready: in place, or on the pool, all of them in a row; once none
   * is left running, answers the state requests that waited.
   */
  private void drain() {
    while (!updating) {
      if (!async) {
        rounds.takeComplete(newest.version()).ifPresent(ready::add);
      }
      if (ready.isEmpty()) {
        break;
      }
      List<List<Worker.SharedGradients>> batch = new ArrayList<>(ready);
      ready.clear();
      // A version no worker holds any more is read by nobody: its arrays may be reused.
      long unreadBelow = Math.min(offers.oldestHeld(), newest.version());
      if (updates == null) {
        published(batch, applyAll(batch, unreadBelow));
      } else {
        updating = true;
        getContext().pipeToSelf(
            CompletableFuture.supplyAsync(() -> applyAll(batch, unreadBelow), updates),
            (applied, error) -> new UpdatesDone(batch, applied, error));
      }
    }
    if (!updating) {
      while (!deferred.isEmpty()) {
        Command request = deferred.poll();
        if (request instanceof GetParameters parameters) {
          onGetParameters(parameters);
        } else if (request instanceof GetState state) {
          onGetState(state);
        }
      }
    }
  }

  private List<MasterCopy.Applied> applyAll(List<List<Worker.SharedGradients>> batch,
      long unreadBelow) {
    return locked(m -> {
      long unread = direct == null ? unreadBelow : Math.min(unreadBelow, direct.oldestRead());
      List<MasterCopy.Applied> applied = new ArrayList<>(batch.size());
      for (List<Worker.SharedGradients> gradients : batch) {
        applied.add(m.apply(gradients, unread));
      }
      return applied;
    });
  }

  /**
   * After updates: the newest version to the workers that can take it, each update's report to
   * the coordinator, and the gradient arrays back to their workers (applied or dropped, they are
   * not read any more; aggregations copy what they keep).
   *
   * <p>Sync: the reports go together once at most one announced round is left to apply (or a
   * worker stops): one wake-up of the coordinator's thread per batch instead of per round. On
   * the 2-core machine that wake-up cost the worker's thread, which runs this actor, about 15 us
   * a round. The coordinator needs the reports only to complete steps and log them: rounds go out
   * on the workers' outcomes, and whatever waits for the steps out to end (a checkpoint, an
   * evaluation, the job's end) stops announcing rounds, so the last ones flush.
   */
  private void published(List<List<Worker.SharedGradients>> batch,
      List<MasterCopy.Applied> applied) {
    TrunkSnapshot latest = applied.get(applied.size() - 1).version();
    if (latest.version() > newest.version()) {
      newest = latest;
      for (ActorRef<Worker.Command> worker : offers.publish(newest.version())) {
        worker.tell(new Worker.OfferTrunkVersion(jobId, newest, held));
      }
    }
    for (int i = 0; i < applied.size(); i++) {
      heldReports.add(new VersionApplied(applied.get(i).version().version(),
          applied.get(i).steps()));
      for (Worker.SharedGradients step : batch.get(i)) {
        if (!step.gradients().isEmpty()) {
          step.worker().tell(new Worker.ReturnGradients(jobId, step.gradients()));
        }
      }
    }
    if (async || rounds.announced() <= 1 || heldReports.size() >= MAX_HELD_REPORTS) {
      flushReports();
    }
  }

  /**
   * Tells the coordinator every report held back, in version order, in one message: a message
   * each (about 30 at a time with the two-head job) took 130 us a flush on the worker's thread,
   * each tell meeting the coordinator's thread at the mailbox from the other core.
   */
  private void flushReports() {
    if (heldReports.size() == 1) {
      coordinator.tell(heldReports.get(0));
    } else if (heldReports.size() > 1) {
      coordinator.tell(new VersionsApplied(List.copyOf(heldReports)));
    }
    heldReports.clear();
  }
}
