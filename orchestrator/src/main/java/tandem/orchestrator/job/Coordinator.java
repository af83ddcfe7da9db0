package tandem.orchestrator.job;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.api.v1.Evaluation;
import tandem.api.v1.EvaluationCompleted;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobStarted;
import tandem.api.v1.JobState;
import tandem.api.v1.OutputLoss;
import tandem.api.v1.ScheduleSpec;
import tandem.api.v1.ScheduleUpdated;
import tandem.api.v1.StepCompleted;
import tandem.api.v1.TaskPlacement;
import tandem.api.v1.TrainingEvent;
import tandem.model.spec.ScheduleSettings;
import tandem.model.spec.TrainingPlan;
import tandem.model.train.ModelParameters;
import tandem.orchestrator.schedule.Schedule;
import tandem.model.train.Seeds;
import tandem.worker.TaskAssignment;
import tandem.worker.TrunkSnapshot;
import tandem.worker.Worker;

/**
 * The coordinator of one job: places its tasks' heads on workers, schedules steps (the job's
 * {@link Schedule}, at most {@code stepsInFlight} per worker), runs sync rounds or async steps
 * (bounded staleness: at most S + 1 steps in flight) with its child {@link SharedParameters}, appends every step, evaluation and the outcome to the job's
 * {@link EventLog}, and at the end collects the trained parameters. Stops itself when the job
 * ends (succeeded, failed or cancelled), which stops the shared-parameter actor too.
 *
 * <p>State confined to the actor; talks to workers, its shared-parameter actor and the job manager.
 */
public final class Coordinator extends AbstractBehavior<Coordinator.Command> {

  /** Messages the coordinator accepts. */
  public sealed interface Command {}

  /** Stop the job now; replies once the job's final event is in the log. */
  public record Cancel(ActorRef<JobManager.Outcome> replyTo) implements Command {}

  /** Replace the schedule from the next step on (already checked against the job's tasks). */
  public record UpdateSchedule(ScheduleSpec spec, ScheduleSettings settings,
      ActorRef<JobManager.Outcome> replyTo) implements Command {}

  private record FromWorker(Worker.StepOutcome outcome) implements Command {}

  private record FromParameters(SharedParameters.Report report) implements Command {}

  private record TasksAssigned(Worker.Assigned assigned) implements Command {}

  private record Evaluated(Worker.EvaluationDone done) implements Command {}

  private record HeadsCollected(Worker.Heads heads) implements Command {}

  private record TrunkCollected(SharedParameters.Parameters parameters) implements Command {}

  private enum TimeLimitReached implements Command { INSTANCE }

  private enum Phase { ASSIGNING, RUNNING, EVALUATING, COLLECTING }

  /** A dispatched step, until both its outcome and its gradient's application are in. */
  private static final class PendingStep {
    /** The trunk version the step was dispatched for (its replica is at least this new). */
    final long version;
    Worker.StepDone done;
    SharedParameters.AppliedStep applied;
    long appliedVersion;

    PendingStep(long version) {
      this.version = version;
    }
  }

  /**
   * @param workers every worker the job may use, in placement order, with their names
   */
  public static Behavior<Command> create(JobRecord record, TrainingPlan plan,
      List<ActorRef<Worker.Command>> workers, List<String> workerNames) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new Coordinator(context, timers, record, plan, workers, workerNames)));
  }

  private final TimerScheduler<Command> timers;
  private final JobRecord record;
  private final TrainingPlan plan;
  private final EventLog log;
  private final Map<String, ActorRef<Worker.Command>> ownerOf = new LinkedHashMap<>();
  private final Map<ActorRef<Worker.Command>, String> nameOf = new LinkedHashMap<>();
  private final Map<ActorRef<Worker.Command>, Integer> credits = new HashMap<>();
  private final Map<String, INDArray> initialParameters;
  private final TreeMap<Long, PendingStep> pending = new TreeMap<>();
  private final SplittableRandom scheduleRandom;
  private final Map<String, Integer> dataSizes = new LinkedHashMap<>();
  private Schedule schedule;
  private final ActorRef<SharedParameters.Command> sharedParameters;
  private final List<Evaluation> evaluations = new ArrayList<>();
  private final Map<String, INDArray> trained = new LinkedHashMap<>();
  private Phase phase = Phase.ASSIGNING;
  private int awaitedReplies;
  private long dispatched;
  private long completed;
  private long examples;
  private long trunkVersion;
  private long inFlight;
  private boolean finished;
  /** Sync: the trunk version the latest round computes on; -1 before the first round. */
  private long roundVersion = -1;
  /** Sync: steps of the latest round whose outcome is not in yet. */
  private int roundAwaitingOutcome;
  private boolean stopRequested;
  private long startedAtNanos;

  private Coordinator(ActorContext<Command> context, TimerScheduler<Command> timers,
      JobRecord record, TrainingPlan plan, List<ActorRef<Worker.Command>> workers,
      List<String> workerNames) {
    super(context);
    this.timers = timers;
    this.record = record;
    this.plan = plan;
    this.log = record.events();
    Map<String, Integer> placement = Placement.place(plan.graph(), workers.size());
    placement.forEach((task, index) -> ownerOf.put(task, workers.get(index)));
    for (ActorRef<Worker.Command> worker : ownerOf.values()) {
      nameOf.put(worker, workerNames.get(workers.indexOf(worker)));
      credits.put(worker, plan.stepsInFlight());
      context.watch(worker);
    }
    plan.graph().tasks().forEach(
        task -> dataSizes.put(task.name(), plan.trainingData().get(task.name()).size()));
    this.scheduleRandom = new SplittableRandom(Seeds.derive(plan.seed(), "schedule"));
    this.schedule = Schedule.create(plan.schedule(), List.copyOf(dataSizes.keySet()), dataSizes,
        scheduleRandom);
    this.initialParameters = ModelParameters.initial(plan.graph(), plan.seed(), DataType.FLOAT);
    Map<String, INDArray> shared = new LinkedHashMap<>();
    plan.graph().sharedModules().forEach(m -> shared.put(m, initialParameters.get(m)));
    this.sharedParameters = context.spawn(
        SharedParameters.create(record.jobId(), plan, new TrunkSnapshot(0, shared),
            List.copyOf(nameOf.keySet()),
            context.messageAdapter(SharedParameters.Report.class, FromParameters::new)),
        "shared-parameters");
    context.watch(sharedParameters);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Cancel.class, this::onCancel)
        .onMessage(UpdateSchedule.class, this::onUpdateSchedule)
        .onMessage(FromWorker.class, this::onFromWorker)
        .onMessage(FromParameters.class, this::onFromParameters)
        .onMessage(TasksAssigned.class, this::onTasksAssigned)
        .onMessage(Evaluated.class, this::onEvaluated)
        .onMessage(HeadsCollected.class, this::onHeadsCollected)
        .onMessage(TrunkCollected.class, this::onTrunkCollected)
        .onMessage(TimeLimitReached.class, message -> onTimeLimitReached())
        .onSignal(Terminated.class, this::onTerminated)
        .onSignal(PostStop.class, signal -> onPostStop())
        .build();
  }

  private Behavior<Command> onCancel(Cancel command) {
    Behavior<Command> next = finish(JobState.JOB_STATE_CANCELLED, "cancelled by request");
    command.replyTo().tell(JobManager.Outcome.ACCEPTED);
    return next;
  }

  private Behavior<Command> onUpdateSchedule(UpdateSchedule command) {
    schedule = Schedule.create(command.settings(), List.copyOf(dataSizes.keySet()), dataSizes,
        scheduleRandom);
    log.append(TrainingEvent.newBuilder().setScheduleUpdated(ScheduleUpdated.newBuilder()
        .setAfterStep(dispatched).setSchedule(command.spec())));
    getContext().getLog().info("job {}: schedule now {} after {} steps", record.jobId(),
        command.settings().policy(), dispatched);
    command.replyTo().tell(JobManager.Outcome.ACCEPTED);
    return this;
  }

  private Behavior<Command> onFromWorker(FromWorker message) {
    if (message.outcome() instanceof Worker.StepFailed failed) {
      return finish(JobState.JOB_STATE_FAILED, "step " + failed.step() + " of task '"
          + failed.task() + "' failed on " + failed.worker() + ": " + failed.reason());
    }
    Worker.StepDone done = (Worker.StepDone) message.outcome();
    ActorRef<Worker.Command> worker = ownerOf.get(done.task());
    credits.merge(worker, 1, Integer::sum);
    PendingStep step = pending.get(done.step());
    if (step != null) {
      if (step.version == roundVersion && !plan.consistency().async()) {
        roundAwaitingOutcome--;
      }
      step.done = done;
      completeIfReady(done.step(), step);
    }
    return advance();
  }

  private Behavior<Command> onFromParameters(FromParameters message) {
    if (message.report() instanceof SharedParameters.Ready ready) {
      assignTasks(ready.gradients());
      return this;
    }
    SharedParameters.VersionApplied applied = (SharedParameters.VersionApplied) message.report();
    trunkVersion = applied.version();
    for (SharedParameters.AppliedStep appliedStep : applied.steps()) {
      inFlight--;
      PendingStep step = pending.get(appliedStep.step());
      if (step != null) {
        step.applied = appliedStep;
        step.appliedVersion = applied.version();
        completeIfReady(appliedStep.step(), step);
      }
    }
    return advance();
  }

  private void assignTasks(ActorRef<Worker.SharedGradients> gradients) {
    ActorRef<Worker.StepOutcome> outcomes =
        getContext().messageAdapter(Worker.StepOutcome.class, FromWorker::new);
    ActorRef<Worker.Assigned> assigned =
        getContext().messageAdapter(Worker.Assigned.class, TasksAssigned::new);
    TrunkSnapshot trunk = new TrunkSnapshot(0, sharedInitial());
    for (ActorRef<Worker.Command> worker : nameOf.keySet()) {
      List<String> tasks = tasksOf(worker);
      Map<String, INDArray> heads = new LinkedHashMap<>();
      tasks.forEach(task -> plan.graph().heads(task)
          .forEach(head -> heads.put(head, initialParameters.get(head))));
      worker.tell(new Worker.AssignTasks(new TaskAssignment(record.jobId(), plan, tasks, heads,
          trunk, gradients, outcomes), assigned));
      awaitedReplies++;
    }
  }

  private Behavior<Command> onTasksAssigned(TasksAssigned message) {
    if (phase != Phase.ASSIGNING || --awaitedReplies > 0) {
      return this;
    }
    JobStarted.Builder started = JobStarted.newBuilder()
        .addAllSharedModules(plan.graph().sharedModules())
        .setMaxSteps(plan.maxSteps())
        .setWorkers(nameOf.size())
        .setSchedule(plan.spec().getSchedule().toBuilder().setPolicy(plan.schedule().policy()))
        .setConsistency(plan.consistency().mode());
    ownerOf.forEach((task, worker) -> started.addPlacements(TaskPlacement.newBuilder()
        .setTask(task).setWorker(nameOf.get(worker)).addAllHeads(plan.graph().heads(task))));
    log.append(TrainingEvent.newBuilder().setJobStarted(started));
    getContext().getLog().info("job {} started: {} tasks on {} workers", record.jobId(),
        ownerOf.size(), nameOf.size());
    phase = Phase.RUNNING;
    startedAtNanos = System.nanoTime();
    if (plan.maxTime() != null) {
      timers.startSingleTimer(TimeLimitReached.INSTANCE, plan.maxTime());
    }
    return advance();
  }

  private Behavior<Command> onEvaluated(Evaluated message) {
    if (phase != Phase.EVALUATING) {
      return this;
    }
    message.done().metrics().forEach((task, metrics) -> metrics.forEach((output, value) ->
        evaluations.add(Evaluation.newBuilder().setTask(task).setOutput(output)
            .setMetric(plan.graph().task(task).outputs().stream()
                .filter(o -> o.name().equals(output)).findFirst().orElseThrow().metric())
            .setValue(value)
            .setExamples(plan.evaluationData().get(task).size()).build())));
    if (--awaitedReplies > 0) {
      return this;
    }
    evaluations.sort(java.util.Comparator.comparingInt(e -> taskIndex(e.getTask())));
    log.append(TrainingEvent.newBuilder().setEvaluationCompleted(
        EvaluationCompleted.newBuilder().setStep(completed).addAllEvaluations(evaluations)));
    phase = Phase.COLLECTING;
    awaitedReplies = nameOf.size() + 1;
    sharedParameters.tell(new SharedParameters.GetParameters(
        getContext().messageAdapter(SharedParameters.Parameters.class, TrunkCollected::new)));
    ActorRef<Worker.Heads> heads = getContext().messageAdapter(Worker.Heads.class,
        HeadsCollected::new);
    nameOf.keySet().forEach(worker -> worker.tell(new Worker.GetHeads(record.jobId(), heads)));
    return this;
  }

  private Behavior<Command> onHeadsCollected(HeadsCollected message) {
    trained.putAll(message.heads().parameters());
    return collected();
  }

  private Behavior<Command> onTrunkCollected(TrunkCollected message) {
    trained.putAll(message.parameters().parameters());
    return collected();
  }

  private Behavior<Command> collected() {
    if (phase != Phase.COLLECTING || --awaitedReplies > 0) {
      return this;
    }
    Map<String, INDArray> inSpecOrder = new LinkedHashMap<>();
    for (String module : plan.graph().modules().keySet()) {
      INDArray parameters = trained.get(module);
      if (parameters == null && usedByATask(module)) {
        return finish(JobState.JOB_STATE_FAILED, "module '" + module
            + "' was missing when the trained parameters were collected");
      }
      if (parameters != null) {
        inSpecOrder.put(module, parameters);
      }
    }
    record.setTrainedParameters(inSpecOrder);
    return finish(JobState.JOB_STATE_SUCCEEDED, "");
  }

  private Behavior<Command> onTimeLimitReached() {
    getContext().getLog().info("job {} reached its time limit after {} steps", record.jobId(),
        completed);
    stopRequested = true;
    return advance();
  }

  private Behavior<Command> onTerminated(Terminated signal) {
    if (signal.getRef().equals(sharedParameters)) {
      return finish(JobState.JOB_STATE_FAILED, "the shared-parameter actor stopped");
    }
    String worker = nameOf.getOrDefault(signal.getRef().<Worker.Command>unsafeUpcast(), "a worker");
    return finish(JobState.JOB_STATE_FAILED, worker + " stopped while running the job");
  }

  /** Dispatches what credits and the round allow, or moves on once training is over. */
  private Behavior<Command> advance() {
    if (phase != Phase.RUNNING) {
      return this;
    }
    if (!stopRequested && dispatched < plan.maxSteps()) {
      if (plan.consistency().async()) {
        dispatchAsync();
      } else if (roundAwaitingOutcome == 0) {
        dispatchRound();
      }
    }
    boolean trainingOver = stopRequested || completed == plan.maxSteps();
    if (trainingOver && pending.isEmpty()) {
      startEvaluation();
    }
    return this;
  }

  /**
   * One sync round: steps while their workers have credit, all on the version the previous round
   * produces. It goes out as soon as the previous round's steps are done, before their update is
   * applied: the workers hold the steps until the new version arrives, so the coordinator is not
   * on the path from one version to the next.
   */
  private void dispatchRound() {
    long version = roundVersion < 0 ? trunkVersion : roundVersion + 1;
    int steps = 0;
    while (dispatched < plan.maxSteps()) {
      String task = schedule.peek();
      ActorRef<Worker.Command> worker = ownerOf.get(task);
      if (credits.get(worker) == 0) {
        break;
      }
      schedule.advance();
      credits.merge(worker, -1, Integer::sum);
      long step = ++dispatched;
      pending.put(step, new PendingStep(version));
      worker.tell(new Worker.RunStep(record.jobId(), step, task, version, System.nanoTime()));
      inFlight++;
      steps++;
    }
    if (steps > 0) {
      roundVersion = version;
      roundAwaitingOutcome = steps;
      sharedParameters.tell(new SharedParameters.ExpectRound(version, steps));
    }
  }

  /**
   * Async: steps go out while their workers have credit and, under bounded staleness S, while no
   * gradient in flight could end up more than S versions stale: a step's staleness is the
   * versions applied between the replica it read (at least the version known when it was
   * dispatched) and its own update, so every step in flight, the new one included, may still
   * add a version before the oldest one lands. Each step asks for a replica at least as new as
   * the latest version the coordinator knows.
   */
  private void dispatchAsync() {
    Integer bound = plan.consistency().maxStaleness();
    while (dispatched < plan.maxSteps() && (bound == null || worstStaleness() + 1 <= bound)) {
      String task = schedule.peek();
      ActorRef<Worker.Command> worker = ownerOf.get(task);
      if (credits.get(worker) == 0) {
        break;
      }
      schedule.advance();
      credits.merge(worker, -1, Integer::sum);
      long step = ++dispatched;
      pending.put(step, new PendingStep(trunkVersion));
      worker.tell(new Worker.RunStep(record.jobId(), step, task, trunkVersion, System.nanoTime()));
      inFlight++;
    }
  }

  /**
   * The largest staleness a step in flight can still reach if every other step in flight is
   * applied before it: versions applied since its dispatch plus the others in flight.
   */
  private long worstStaleness() {
    long oldest = Long.MAX_VALUE;
    for (PendingStep step : pending.values()) {
      if (step.applied == null) {
        oldest = Math.min(oldest, step.version);
      }
    }
    return oldest == Long.MAX_VALUE ? -1 : trunkVersion - oldest + inFlight - 1;
  }

  private void completeIfReady(long stepNumber, PendingStep step) {
    if (step.done == null || step.applied == null) {
      return;
    }
    pending.remove(stepNumber);
    completed++;
    Worker.StepDone done = step.done;
    examples += done.result().examples();
    StepCompleted.Builder event = StepCompleted.newBuilder()
        .setStep(done.step())
        .setTask(done.task())
        .setLoss(done.result().loss())
        .setExamples(done.result().examples())
        .setTrunkVersion(done.trunkVersion())
        .setStaleness(step.applied.staleness())
        .setGradientDropped(step.applied.dropped())
        .setAppliedVersion(step.appliedVersion)
        .setWorker(done.worker())
        .setComputeTime(proto(done.computeTime()))
        .setQueueTime(proto(done.queueTime()))
        .setBatch(done.batch());
    done.result().outputLosses().forEach((output, loss) ->
        event.addOutputs(OutputLoss.newBuilder().setOutput(output).setLoss(loss)));
    log.append(TrainingEvent.newBuilder().setStepCompleted(event));
  }

  private void startEvaluation() {
    phase = Phase.EVALUATING;
    awaitedReplies = nameOf.size();
    ActorRef<Worker.EvaluationDone> replies =
        getContext().messageAdapter(Worker.EvaluationDone.class, Evaluated::new);
    nameOf.keySet().forEach(worker ->
        worker.tell(new Worker.Evaluate(record.jobId(), trunkVersion, replies)));
  }

  private Behavior<Command> finish(JobState state, String message) {
    finished = true;
    Duration elapsed = Duration.ofNanos(startedAtNanos == 0 ? 0 : System.nanoTime() - startedAtNanos);
    double seconds = elapsed.toNanos() / 1e9;
    log.append(TrainingEvent.newBuilder().setJobFinished(JobFinished.newBuilder()
        .setState(state)
        .setMessage(message)
        .setSteps(completed)
        .setElapsed(proto(elapsed))
        .setExamplesPerSecond(seconds > 0 ? examples / seconds : 0)));
    if (state == JobState.JOB_STATE_FAILED) {
      getContext().getLog().warn("job {} failed: {}", record.jobId(), message);
    } else {
      getContext().getLog().info("job {} ended {} after {} steps in {}", record.jobId(), state,
          completed, elapsed);
    }
    nameOf.keySet().forEach(worker -> worker.tell(new Worker.ReleaseJob(record.jobId())));
    return Behaviors.stopped();
  }

  /**
   * A coordinator that stops without having ended its job (a bug threw in a handler, which stops a
   * typed actor) still ends the job's log, so that subscribers and status see a failure instead
   * of a job running forever, and still frees the workers.
   */
  private Behavior<Command> onPostStop() {
    if (!finished) {
      getContext().getLog().error("coordinator of job {} stopped before the job ended",
          record.jobId());
      finish(JobState.JOB_STATE_FAILED, "internal error in the job's coordinator; see the server log");
    }
    return this;
  }

  private boolean usedByATask(String module) {
    return plan.graph().tasks().stream().anyMatch(t -> t.moduleNames().contains(module));
  }

  private Map<String, INDArray> sharedInitial() {
    Map<String, INDArray> shared = new LinkedHashMap<>();
    plan.graph().sharedModules().forEach(m -> shared.put(m, initialParameters.get(m)));
    return shared;
  }

  private List<String> tasksOf(ActorRef<Worker.Command> worker) {
    return ownerOf.entrySet().stream().filter(e -> e.getValue().equals(worker))
        .map(Map.Entry::getKey).toList();
  }

  private int taskIndex(String task) {
    return new ArrayList<>(ownerOf.keySet()).indexOf(task);
  }

  private static com.google.protobuf.Duration proto(Duration duration) {
    return com.google.protobuf.Duration.newBuilder().setSeconds(duration.getSeconds())
        .setNanos(duration.getNano()).build();
  }
}
