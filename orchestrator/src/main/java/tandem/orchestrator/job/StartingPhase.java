package tandem.orchestrator.job;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.UnaryOperator;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.ReceiveBuilder;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.model.train.ModelParameters;
import tandem.orchestrator.job.Coordinator.Command;
import tandem.orchestrator.job.Coordinator.FromParameters;
import tandem.orchestrator.job.Coordinator.Initialised;
import tandem.orchestrator.job.Coordinator.TasksAssigned;
import tandem.orchestrator.job.Coordinator.Tick;
import tandem.worker.TrunkSnapshot;
import tandem.worker.Worker;

/**
 * A job's start: its starting parameters (computed on the blocking dispatcher, not the
 * coordinator's), then its shared-parameter actor and every worker taking its tasks, within
 * {@code assign-timeout}; then job_started (or job_resumed) and training. A worker lost here
 * fails the job.
 */
final class StartingPhase extends PhaseBehavior {

  private final DispatcherSelector parameterDispatcher;
  /** Applied to the shared-parameter actor's behaviour before it is spawned. */
  private final UnaryOperator<Behavior<SharedParameters.Command>> parameterActor;
  /** Workers that have not taken their tasks yet, by name, with their tasks. */
  private final Map<String, List<String>> awaiting = new LinkedHashMap<>();
  private String waitingFor;

  private StartingPhase(JobRun run, DispatcherSelector parameterDispatcher,
      UnaryOperator<Behavior<SharedParameters.Command>> parameterActor) {
    super(run);
    this.parameterDispatcher = parameterDispatcher;
    this.parameterActor = parameterActor;
  }

  static Behavior<Command> start(JobRun run, DispatcherSelector parameterDispatcher,
      UnaryOperator<Behavior<SharedParameters.Command>> parameterActor) {
    StartingPhase phase = new StartingPhase(run, parameterDispatcher, parameterActor);
    if (run.initialParameters != null) {
      return phase.initialised();
    }
    Executor blocking = run.context.getSystem().dispatchers()
        .lookup(DispatcherSelector.blocking());
    run.context.pipeToSelf(CompletableFuture.supplyAsync(
            () -> ModelParameters.starting(run.plan, DataType.FLOAT), blocking),
        Initialised::new);
    return phase;
  }

  @Override
  protected void handlers(ReceiveBuilder<Command> builder) {
    builder.onMessage(Initialised.class, safely(this::onInitialised))
        .onMessage(FromParameters.class, safely(this::onFromParameters))
        .onMessageEquals(Tick.START_TIMED_OUT, this::onTimedOut);
  }

  private Behavior<Command> onInitialised(Initialised message) {
    if (message.error() != null) {
      return run.fail("the job's starting parameters could not be made: "
          + reason(message.error()));
    }
    run.initialParameters = message.parameters();
    return initialised();
  }

  /** Starts the shared-parameter actor, which reports Ready with where gradients go. */
  private Behavior<Command> initialised() {
    // From here on it waits for messages (the first ND4J use above can take seconds).
    run.timers.startSingleTimer(Tick.START_TIMED_OUT, run.timeouts.assign());
    waitingFor = "the job's shared-parameter actor to start";
    Map<String, INDArray> shared = run.sharedInitial();
    List<ActorRef<Worker.Command>> workers = List.copyOf(run.placements.workers());
    run.sharedParameters = run.context.spawn(parameterActor.apply(
        SharedParameters.create(run.jobId(), run.plan,
            new TrunkSnapshot(run.dispatch.trunkVersion(), shared),
            run.resumedFrom == null ? Map.of() : run.resumedFrom.sharedOptimizers(), workers,
            run.context.messageAdapter(SharedParameters.Report.class, FromParameters::new),
            SharedParameters.directFor(run.plan, workers))),
        "shared-parameters", parameterDispatcher);
    run.context.watch(run.sharedParameters);
    return this;
  }

  private Behavior<Command> onFromParameters(FromParameters message) {
    if (!(message.report() instanceof SharedParameters.Ready ready) || run.gradientsTo != null) {
      return this;
    }
    run.gradientsTo = ready.gradients();
    run.direct = ready.direct();
    TrunkSnapshot trunk = new TrunkSnapshot(run.dispatch.trunkVersion(), run.sharedInitial());
    for (ActorRef<Worker.Command> worker : run.placements.workers()) {
      List<String> tasks = run.placements.tasksOf(worker);
      awaiting.put(run.placements.name(worker), tasks);
      run.assign(worker, tasks, run.resumedFrom, trunk);
    }
    waitingFor = "every worker to take its tasks";
    return this;
  }

  @Override
  protected Behavior<Command> onTasksAssigned(TasksAssigned message) {
    if (message.error() != null) {
      return run.fail(CoordinatorTimeouts.expired(run.timeouts.assign(), "worker '"
          + message.worker() + "' to take its tasks " + awaiting.get(message.worker()))
          + "; " + notAllTaken());
    }
    awaiting.remove(message.worker());
    if (!awaiting.isEmpty()) {
      return this;
    }
    run.timers.cancel(Tick.START_TIMED_OUT);
    if (run.resumedFrom == null) {
      run.log.append(JobEvents.started(run.plan, run.placements.size(), run.placements.all()));
    } else {
      run.log.append(JobEvents.resumed(run.resumedFrom.step(), run.resumedFrom.eventSequence(),
          run.directory == null ? "" : run.directory.path().toString(), run.placements.all()));
    }
    run.context.getLog().info("job {} started: {} tasks on {} workers", run.jobId(),
        run.placements.ownerOf().size(), run.placements.size());
    run.startedAtNanos = System.nanoTime();
    if (run.plan.maxTime() != null) {
      run.timers.startSingleTimer(Tick.TIME_LIMIT, run.plan.maxTime());
    }
    return TrainingPhase.resume(run);
  }

  /**
   * Workers that never take their tasks (a worker node that cannot compile the job's spec drops
   * the assignment) would otherwise leave the job starting forever.
   */
  private Behavior<Command> onTimedOut() {
    String what = awaiting.isEmpty() ? waitingFor
        : "worker(s) '" + String.join("', '", awaiting.keySet()) + "' to take their tasks";
    return run.fail(CoordinatorTimeouts.expired(run.timeouts.assign(), what)
        + (awaiting.isEmpty() ? "" : "; " + notAllTaken()));
  }

  private String notAllTaken() {
    return "the job's workers did not all take their tasks within " + run.timeouts.assign()
        + " (a worker node that cannot read the spec's data or compile it drops the"
        + " assignment; see the worker nodes' logs)";
  }

  @Override
  protected Behavior<Command> onWorkerLost(ActorRef<Worker.Command> worker, String name) {
    return run.fail(name + " stopped while running the job");
  }
}
