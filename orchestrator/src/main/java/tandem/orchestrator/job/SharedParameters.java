package tandem.orchestrator.job;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.model.optim.OptimizerState;
import tandem.model.spec.ConsistencySettings;
import tandem.model.spec.TrainingPlan;
import tandem.model.train.Seeds;
import tandem.orchestrator.aggregation.Aggregation;
import tandem.orchestrator.aggregation.StepGradient;
import tandem.worker.OptimizerSnapshot;
import tandem.worker.TrunkSnapshot;
import tandem.worker.Worker;

/**
 * The shared-parameter actor of one job: keeps the master copy of the shared modules and their
 * optimizer state (one per module, or one per module and task), and applies the workers'
 * gradients. In {@code sync} mode the coordinator announces each round's size
 * ({@link ExpectRound}) and the round is combined and applied once all its gradients are in; in
 * {@code async} mode each gradient is applied on arrival, after the stale-gradient policy (apply,
 * scale by 1/(1+staleness), drop). Either way the {@link Aggregation} combines the tasks'
 * gradients; each new version is published to the job's workers and reported to the coordinator
 * with every step's staleness. Each version is built from fresh arrays, so published snapshots are
 * never written (see {@link TrunkSnapshot}).
 *
 * <p>Child of the job's coordinator; state confined to the actor.
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

  /** Sent once at start: where workers send their shared gradients. */
  public record Ready(ActorRef<Worker.SharedGradients> gradients) implements Report {}

  /** A step whose gradient was handled: its staleness, and whether it was dropped. */
  public record AppliedStep(long step, long staleness, boolean dropped) {}

  /** Sent after each round (sync) or gradient (async), with the version now current. */
  public record VersionApplied(long version, List<AppliedStep> steps) implements Report {}

  private record GradientsArrived(Worker.SharedGradients gradients) implements Command {}

  /**
   * @param initial version 0 of the shared modules (already sent to the workers)
   * @param workers every worker with tasks of this job: each gets every new version
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
    return Behaviors.setup(context -> {
      SharedParameters actor =
          new SharedParameters(context, jobId, plan, initial, workers, coordinator);
      actor.restoreOptimizers(optimizers);
      return actor;
    });
  }

  /** The key of a shared module's optimizer state: the module, or the module and the task. */
  public static String optimizerKey(String module, String task) {
    return task == null || task.isEmpty() ? module : module + "\u0000" + task;
  }

  private final String jobId;
  private final TrainingPlan plan;
  private final ConsistencySettings consistency;
  private final List<ActorRef<Worker.Command>> workers;
  private final ActorRef<Report> coordinator;
  private final Aggregation aggregation;
  private final Map<String, OptimizerState> optimizers = new HashMap<>();
  private final Map<Long, Integer> expectedSteps = new HashMap<>();
  /**
   * Async: the newest version each worker has computed a step on. A worker's replica only moves
   * forward, so no worker reads a version older than the oldest of these again.
   */
  private final Map<ActorRef<Worker.Command>, Long> readVersions = new HashMap<>();
  /**
   * Async: per module, arrays this actor made that newer versions replaced, oldest first, each
   * with the last version that held it: reused once no worker can read that version.
   */
  private final Map<String, java.util.ArrayDeque<Replaced>> replaced = new HashMap<>();
  /** The arrays of the version the actor started from: the job's, never reused. */
  private final java.util.Set<INDArray> startingArrays =
      java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

  private record Replaced(long lastVersion, INDArray array) {}

  /** Async: replaced arrays kept per module for reuse, at most. */
  private static final int MAX_REPLACED = 16;
  private final TreeMap<Long, List<Worker.SharedGradients>> arrived = new TreeMap<>();
  private static final int REMEMBERED_STEPS = 1 << 16;

  /** The newest steps whose gradient came; see {@link #firstArrival}. */
  private final java.util.TreeSet<Long> arrivedSteps = new java.util.TreeSet<>();
  /** Sync only: each module's array of the version before the current one, free for reuse. */
  private final Map<String, INDArray> spare = new HashMap<>();
  private TrunkSnapshot current;

  private SharedParameters(ActorContext<Command> context, String jobId, TrainingPlan plan,
      TrunkSnapshot initial, List<ActorRef<Worker.Command>> workers,
      ActorRef<Report> coordinator) {
    super(context);
    this.jobId = jobId;
    this.plan = plan;
    this.consistency = plan.consistency();
    this.workers = List.copyOf(workers);
    this.coordinator = coordinator;
    this.aggregation = Aggregation.create(plan.aggregation(), plan.optimizer(),
        Seeds.derive(plan.seed(), "aggregation"));
    this.current = initial;
    startingArrays.addAll(initial.parameters().values());
    ActorRef<Worker.SharedGradients> gradients =
        context.messageAdapter(Worker.SharedGradients.class, GradientsArrived::new);
    coordinator.tell(new Ready(gradients));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(ExpectRound.class, this::onExpectRound)
        .onMessage(GradientsArrived.class, this::onGradientsArrived)
        .onMessage(GetParameters.class, this::onGetParameters)
        .onMessage(GetState.class, this::onGetState)
        .build();
  }

  private Behavior<Command> onExpectRound(ExpectRound command) {
    expectedSteps.put(command.version(), command.steps());
    applyCompleteRound();
    return this;
  }

  private Behavior<Command> onGradientsArrived(GradientsArrived message) {
    Worker.SharedGradients gradients = message.gradients();
    if (!firstArrival(gradients.step())) {
      // A step re-run after its worker was lost, whose first gradient had already come: it
      // counts once, or a sync round would close on it with another step's gradient missing.
      getContext().getLog().info("job {}: a second gradient for step {} ignored", jobId,
          gradients.step());
      return this;
    }
    if (consistency.async()) {
      readVersions.merge(gradients.worker(), gradients.trunkVersion(), Math::max);
      apply(List.of(gradients));
    } else {
      arrived.computeIfAbsent(gradients.trunkVersion(), v -> new ArrayList<>()).add(gradients);
      applyCompleteRound();
    }
    return this;
  }

  /**
   * Whether this is the first gradient of {@code step}. A re-run follows its first run within the
   * steps in flight, so the newest {@link #REMEMBERED_STEPS} step numbers are enough to tell.
   */
  private boolean firstArrival(long step) {
    if (!arrivedSteps.add(step)) {
      return false;
    }
    if (arrivedSteps.size() > REMEMBERED_STEPS) {
      arrivedSteps.pollFirst();
    }
    return true;
  }

  private Behavior<Command> onGetParameters(GetParameters command) {
    Map<String, INDArray> copy = new LinkedHashMap<>();
    current.parameters().forEach((module, parameters) -> copy.put(module, parameters.dup()));
    command.replyTo().tell(new Parameters(current.version(), copy));
    return this;
  }

  private Behavior<Command> onGetState(GetState command) {
    Map<String, INDArray> copy = new LinkedHashMap<>();
    current.parameters().forEach((module, parameters) -> copy.put(module, parameters.dup()));
    Map<String, OptimizerSnapshot> states = new LinkedHashMap<>();
    optimizers.forEach((key, optimizer) ->
        states.put(key, new OptimizerSnapshot(optimizer.iteration(), optimizer.copyOfState())));
    command.replyTo().tell(new State(current.version(), copy, states));
    return this;
  }

  private void restoreOptimizers(Map<String, OptimizerSnapshot> saved) {
    saved.forEach((key, snapshot) -> {
      int split = key.indexOf('\u0000');
      String module = split < 0 ? key : key.substring(0, split);
      String task = split < 0 ? null : key.substring(split + 1);
      optimizer(module, task).restoreInPlace(snapshot.iteration(), snapshot.state());
    });
  }

  private void applyCompleteRound() {
    long version = current.version();
    Integer expected = expectedSteps.get(version);
    List<Worker.SharedGradients> round = arrived.get(version);
    if (expected == null || round == null || round.size() < expected) {
      return;
    }
    expectedSteps.remove(version);
    arrived.remove(version);
    // Step order, not arrival order, so that the sums are the same whatever the timing.
    round.sort(java.util.Comparator.comparingLong(Worker.SharedGradients::step));
    apply(round);
  }

  /** Applies gradients computed on replicas of the current or older versions. */
  private void apply(List<Worker.SharedGradients> gradients) {
    long version = current.version();
    List<StepGradient> kept = new ArrayList<>();
    List<AppliedStep> handled = new ArrayList<>();
    for (Worker.SharedGradients step : gradients) {
      long staleness = version - step.trunkVersion();
      boolean drop = consistency.staleGradients().equals("drop")
          && staleness > consistency.dropStaleness();
      handled.add(new AppliedStep(step.step(), staleness, drop));
      if (drop) {
        continue;
      }
      if (consistency.staleGradients().equals("scale") && staleness > 0) {
        step.gradients().values().forEach(g -> g.muli(1.0 / (1 + staleness)));
      }
      kept.add(new StepGradient(step.task(), step.step(), step.loss(), step.gradients()));
    }
    if (!kept.isEmpty()) {
      update(aggregation.combine(kept, version));
      for (ActorRef<Worker.Command> worker : workers) {
        worker.tell(new Worker.NewTrunkVersion(jobId, current));
      }
    }
    coordinator.tell(new VersionApplied(current.version(), handled));
    // Applied or dropped, the arrays are not read any more (aggregations copy what they keep).
    for (Worker.SharedGradients step : gradients) {
      if (!step.gradients().isEmpty()) {
        step.worker().tell(new Worker.ReturnGradients(jobId, step.gradients()));
      }
    }
  }

  /** Builds the next version in arrays nobody reads: one optimizer step per (module, state). */
  private void update(Map<String, Map<String, INDArray>> byTask) {
    Map<String, INDArray> next = new LinkedHashMap<>(current.parameters());
    Map<String, INDArray> fresh = new HashMap<>();
    // Frozen modules (a task added to a trained model) keep their values; workers do not even
    // send their gradients, this is the backstop.
    java.util.Set<String> frozen = plan.frozenModules();
    if (plan.optimizer().perTaskSharedState()) {
      byTask.forEach((task, gradients) -> gradients.forEach((module, gradient) -> {
        if (!frozen.contains(module)) {
          optimizer(module, task).applyInPlace(
              fresh.computeIfAbsent(module, this::writableCopy), gradient);
        }
      }));
    } else {
      Map<String, INDArray> combined = new LinkedHashMap<>();
      byTask.values().forEach(gradients -> gradients.forEach((module, gradient) -> {
        if (frozen.contains(module)) {
          return;
        }
        INDArray sum = combined.get(module);
        if (sum == null) {
          combined.put(module, gradient);
        } else {
          sum.addi(gradient);
        }
      }));
      combined.forEach((module, gradient) -> optimizer(module, null).applyInPlace(
          fresh.computeIfAbsent(module, this::writableCopy), gradient));
    }
    next.putAll(fresh);
    if (!consistency.async()) {
      fresh.keySet().forEach(module -> spare.put(module, current.parameters().get(module)));
    } else {
      fresh.keySet().forEach(module -> {
        INDArray old = current.parameters().get(module);
        if (!startingArrays.contains(old)) {
          java.util.ArrayDeque<Replaced> arrays =
              replaced.computeIfAbsent(module, m -> new java.util.ArrayDeque<>());
          arrays.addLast(new Replaced(current.version(), old));
          // A worker that never reports again (lost, or one without steps) holds the oldest
          // read version back for good: forget the oldest arrays rather than keep every version.
          if (arrays.size() > MAX_REPLACED) {
            arrays.pollFirst();
          }
        }
      });
    }
    current = new TrunkSnapshot(current.version() + 1, next);
  }

  /**
   * A copy of the module's current parameters to update. In sync mode the array of the version
   * before the current one is reused: every step that read it belonged to a round that is
   * applied (a round's steps all compute on one version, and the next round waits for the next
   * version), and other readers (evaluation, parameter fetches) ask for the latest version or
   * copy. In async mode a step may still read any recent version, so each version is new.
   */
  private INDArray writableCopy(String module) {
    INDArray source = current.parameters().get(module);
    INDArray reused = consistency.async() ? unreadArray(module) : spare.remove(module);
    return reused == null ? source.dup() : copyInto(source, reused);
  }

  /**
   * Async: the oldest replaced array of {@code module} whose last version is older than every
   * worker's newest read version, so that no step reads it any more; null when there is none
   * (or some worker has not computed a step yet). Saves a new array per version, whose ND4J
   * allocation and deallocation cost more than the copy into the old one.
   */
  private INDArray unreadArray(String module) {
    java.util.ArrayDeque<Replaced> arrays = replaced.get(module);
    if (arrays == null || arrays.isEmpty() || readVersions.size() < workers.size()) {
      return null;
    }
    long unreadBelow = java.util.Collections.min(readVersions.values());
    return arrays.peekFirst().lastVersion() < unreadBelow ? arrays.pollFirst().array() : null;
  }

  /**
   * {@code target} overwritten with {@code source}: one buffer copy for plain float arrays, since
   * ND4J's assign op costs 10-20 us of fixed overhead on the path from one version to the next.
   */
  private static INDArray copyInto(INDArray source, INDArray target) {
    if (source.dataType() == org.nd4j.linalg.api.buffer.DataType.FLOAT
        && target.dataType() == source.dataType() && !source.isView() && !target.isView()
        && source.length() == target.length()) {
      target.data().asNioFloat().put(source.data().asNioFloat());
      return target;
    }
    return target.assign(source);
  }

  /** The state of {@code module}'s updates: the module's, or ({@code task} set) the task's. */
  private OptimizerState optimizer(String module, String task) {
    String key = optimizerKey(module, task);
    return optimizers.computeIfAbsent(key, k -> OptimizerState.forModule(
        task == null ? plan.optimizer() : plan.optimizerFor(task),
        plan.graph().modules().get(module), current.parameters().get(module).length(),
        current.parameters().get(module).dataType()));
  }
}
