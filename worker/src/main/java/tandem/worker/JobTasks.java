package tandem.worker;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.model.optim.OptimizerState;
import tandem.model.spec.TaskGraph;
import tandem.model.spec.TrainingPlan;
import tandem.model.train.StepResult;
import tandem.model.train.TaskProgram;

/**
 * One job's share of a worker: the owned tasks' programs and {@link TaskBatches}, heads with
 * their optimizer state, the current trunk replica, the shared-gradient arrays it lends the
 * shared-parameter actor (or hands to its {@link DirectTrunk} for the length of an update), and
 * the commands and outcomes the worker holds for the job. Plain class, confined to the worker
 * actor.
 */
final class JobTasks {

  /** A step's result with the shared gradients to hand over and the trunk version it read. */
  record Computed(StepResult result, Map<String, INDArray> sharedGradients, long trunkVersion,
      long batch) {}

  /**
   * With a {@link DirectTrunk}: a step computed whose shared gradients are not applied yet (see
   * {@code Worker.applyHeld}), with what its outcome will say.
   */
  record UnappliedStep(Worker.SharedGradients gradients, StepResult result, long batch,
      java.time.Duration queueTime, java.time.Duration computeTime) {}

  private static final DataType DATA_TYPE = DataType.FLOAT;

  private final TrainingPlan plan;
  private final ActorRef<Worker.SharedGradients> sharedParameters;
  private final ActorRef<Worker.StepOutcome> coordinator;
  /** Where the job's shared modules are read and updated in place; null: by messages. */
  private final DirectTrunk direct;
  private final List<String> tasks = new ArrayList<>();
  private final Map<String, TaskProgram> programs = new HashMap<>();
  private final TaskBatches batches;
  private final Map<String, INDArray> heads = new LinkedHashMap<>();
  private final Map<String, INDArray> headGradients = new HashMap<>();
  private final Map<String, OptimizerState> headOptimizers = new HashMap<>();
  private final Map<String, ArrayDeque<INDArray>> spareGradients = new HashMap<>();
  /** Scratch gradients of frozen shared modules, which the task's backward pass still fills. */
  private final Map<String, INDArray> frozenGradients = new HashMap<>();
  /** Steps and evaluations waiting for a newer trunk version, in arrival order. */
  private final ArrayDeque<Worker.Command> waiting = new ArrayDeque<>();
  /** Outcomes of finished steps not yet told to the coordinator, in step order. */
  private final List<Worker.StepDone> unreported = new ArrayList<>();
  /** With a {@link DirectTrunk}: computed steps whose shared gradients wait, in step order. */
  private final List<UnappliedStep> unapplied = new ArrayList<>();
  /** Async: a FlushOutcomes is on its way to the worker. */
  private boolean flushPending;
  private TrunkSnapshot trunk;
  private long trunkArrivedAtNanos;

  JobTasks(TrainingPlan plan, TrunkSnapshot trunk,
      ActorRef<Worker.SharedGradients> sharedParameters,
      ActorRef<Worker.StepOutcome> coordinator, DirectTrunk direct) {
    this.plan = plan;
    this.trunk = trunk;
    this.sharedParameters = sharedParameters;
    this.coordinator = coordinator;
    this.direct = direct;
    this.batches = new TaskBatches(plan);
  }

  void addTasks(List<String> newTasks, Map<String, INDArray> headParameters) {
    for (String task : newTasks) {
      TaskGraph graph = plan.graph().task(task);
      tasks.add(task);
      programs.put(task, new TaskProgram(graph, DATA_TYPE));
      batches.add(task, graph);
    }
    for (String task : newTasks) {
      // A head belongs to one task and learns at that task's rate.
      for (String module : plan.graph().heads(task)) {
        INDArray parameters = headParameters.get(module);
        heads.put(module, parameters);
        headGradients.put(module, Nd4j.zeros(parameters.dataType(), parameters.length()));
        headOptimizers.put(module, OptimizerState.forModule(plan.optimizerFor(task),
            plan.graph().modules().get(module), parameters.length(), DATA_TYPE));
      }
    }
  }

  /**
   * Forward and backward of {@code task}'s next batch on the current replica; applies the head
   * updates here and returns fresh shared-gradient arrays for the shared-parameter actor.
   */
  Computed step(String task) {
    TaskProgram program = programs.get(task);
    TaskBatches.Next next = batches.next(task);
    long batchIndex = next.index();
    // Only the task's own modules: a job of hundreds of heads would otherwise copy every head's
    // entry twice a step (seen at 16% of a worker's time with 200 heads).
    Map<String, INDArray> parameters = new HashMap<>();
    Map<String, INDArray> gradients = new HashMap<>();
    Map<String, INDArray> shared = new LinkedHashMap<>();
    for (String module : program.moduleNames()) {
      INDArray head = heads.get(module);
      parameters.put(module, head != null ? head : trunk.parameters().get(module));
      if (head != null) {
        gradients.put(module, headGradients.get(module));
      } else if (plan.frozenModules().contains(module)) {
        // Never sent: nobody updates a frozen module. Kept for the next step.
        gradients.put(module, frozenGradients.computeIfAbsent(module, m ->
            Nd4j.createUninitialized(DATA_TYPE, trunk.parameters().get(m).length())));
      } else {
        // Handed to the shared-parameter actor, which hands it back once applied.
        INDArray gradient = spareGradients.computeIfAbsent(module, m -> new ArrayDeque<>())
            .pollFirst();
        if (gradient == null) {
          gradient = Nd4j.createUninitialized(DATA_TYPE, trunk.parameters().get(module).length());
        }
        shared.put(module, gradient);
        gradients.put(module, gradient);
      }
    }
    StepResult result = program.computeGradients(parameters, next.batch(), gradients);
    if (!Double.isFinite(result.loss())) {
      throw new ArithmeticException("loss of task '" + task + "' is " + result.loss()
          + " at batch " + batchIndex + ": training diverged (lower the learning rate)");
    }
    pullTowardsStart(shared);
    for (String module : program.moduleNames()) {
      OptimizerState optimizer = headOptimizers.get(module);
      if (optimizer != null && !plan.frozenModules().contains(module)) {
        optimizer.applyInPlace(heads.get(module), headGradients.get(module));
      }
    }
    return new Computed(result, shared, trunk.version(), batchIndex);
  }

  /**
   * Adds the gradient of {@code trunkPull/2 * ||theta - theta_start||^2} to each shared
   * gradient whose module has a starting value (see {@link tandem.model.spec.StartingPoint}).
   */
  private void pullTowardsStart(Map<String, INDArray> shared) {
    double pull = plan.start().trunkPull();
    if (pull == 0) {
      return;
    }
    shared.forEach((module, gradient) -> {
      INDArray start = plan.start().parameters().get(module);
      if (start != null) {
        gradient.addi(trunk.parameters().get(module).sub(start).muli(pull));
      }
    });
  }

  /** See {@link TaskBatches#prefetch}. */
  void prefetch(String task) {
    batches.prefetch(task);
  }

  /** Takes back shared-gradient arrays that were applied (see {@link Worker.ReturnGradients}). */
  void recycle(Map<String, INDArray> gradients) {
    gradients.forEach((module, gradient) -> {
      ArrayDeque<INDArray> spares = spareGradients.computeIfAbsent(module, m -> new ArrayDeque<>());
      // More spares than steps in flight would only hold memory.
      if (spares.size() <= plan.stepsInFlight()) {
        spares.addLast(gradient);
      }
    });
  }

  Map<String, Double> evaluate(String task) {
    Map<String, INDArray> parameters = new HashMap<>(trunk.parameters());
    parameters.putAll(heads);
    return programs.get(task).evaluate(parameters, plan.evaluationData().get(task));
  }

  Map<String, INDArray> copyOfHeads() {
    Map<String, INDArray> copy = new LinkedHashMap<>();
    heads.forEach((module, parameters) -> copy.put(module, parameters.dup()));
    return copy;
  }

  Map<String, OptimizerSnapshot> copyOfOptimizers() {
    Map<String, OptimizerSnapshot> copy = new LinkedHashMap<>();
    heads.keySet().forEach(module -> {
      OptimizerState optimizer = headOptimizers.get(module);
      copy.put(module, new OptimizerSnapshot(optimizer.iteration(), optimizer.copyOfState()));
    });
    return copy;
  }

  /** Per task, batches drawn for steps: one gathered ahead for a waiting step does not count. */
  Map<String, Long> batchesDrawn() {
    return batches.drawn(tasks);
  }

  /** Optimizer states of heads and batch positions of tasks, from a checkpoint. */
  void restore(Map<String, OptimizerSnapshot> optimizers, Map<String, Long> drawn) {
    optimizers.forEach((module, saved) -> {
      OptimizerState optimizer = headOptimizers.get(module);
      if (optimizer != null) {
        optimizer.restoreInPlace(saved.iteration(), saved.state());
      }
    });
    batches.skipTo(drawn);
  }

  void replaceTrunk(TrunkSnapshot snapshot) {
    trunk = snapshot;
    trunkArrivedAtNanos = System.nanoTime();
  }

  /**
   * A newer version read in place ({@link DirectTrunk}): it was there for the taking, so no step
   * waited for it, unlike one that arrives ({@link #trunkArrivedAtNanos}).
   */
  void readTrunk(TrunkSnapshot snapshot) {
    trunk = snapshot;
  }

  /**
   * A sync job's round applied in place by this worker ({@link DirectTrunk}): the version the
   * next round waits for is there from now on, as if it had arrived.
   */
  void roundApplied() {
    trunkArrivedAtNanos = System.nanoTime();
  }

  /** {@link System#nanoTime()} when the current trunk replica came (0: with the assignment). */
  long trunkArrivedAtNanos() {
    return trunkArrivedAtNanos;
  }

  TrunkSnapshot trunk() {
    return trunk;
  }

  /** Whether the job trains asynchronously (every outcome is reported at once). */
  boolean async() {
    return plan.consistency().async();
  }

  List<String> tasks() {
    return tasks;
  }

  ActorRef<Worker.SharedGradients> sharedParameters() {
    return sharedParameters;
  }

  ActorRef<Worker.StepOutcome> coordinator() {
    return coordinator;
  }

  /** See {@link TaskAssignment#direct()}; null when shared gradients go by message. */
  DirectTrunk direct() {
    return direct;
  }

  /** Steps and evaluations of the job waiting here for a newer trunk version. */
  ArrayDeque<Worker.Command> waiting() {
    return waiting;
  }

  /** Outcomes held back (see {@code Worker.reportIfLow}). */
  List<Worker.StepDone> unreported() {
    return unreported;
  }

  /** Steps computed whose shared gradients wait to be applied with the next one's. */
  List<UnappliedStep> unapplied() {
    return unapplied;
  }

  boolean flushPending() {
    return flushPending;
  }

  void flushPending(boolean pending) {
    flushPending = pending;
  }

  /** Steps the coordinator may have out on this worker at once (async: its credits). */
  int stepsInFlight() {
    return plan.stepsInFlight();
  }
}
