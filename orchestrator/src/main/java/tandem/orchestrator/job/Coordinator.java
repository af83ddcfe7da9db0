package tandem.orchestrator.job;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.api.v1.CheckpointWritten;
import tandem.api.v1.Evaluation;
import tandem.api.v1.EvaluationCompleted;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobResumed;
import tandem.api.v1.JobStarted;
import tandem.api.v1.JobState;
import tandem.api.v1.OutputLoss;
import tandem.api.v1.ScheduleChange;
import tandem.api.v1.ScheduleSpec;
import tandem.api.v1.ScheduleUpdated;
import tandem.api.v1.StepCompleted;
import tandem.api.v1.TaskPlacement;
import tandem.api.v1.TasksMoved;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.WorkerLost;
import tandem.model.spec.InvalidSpecException;
import tandem.model.spec.ScheduleSettings;
import tandem.model.spec.SettingsSpecs;
import tandem.model.spec.TrainingPlan;
import tandem.model.train.ModelParameters;
import tandem.orchestrator.checkpoint.Checkpoint;
import tandem.orchestrator.checkpoint.CheckpointPolicy;
import tandem.orchestrator.checkpoint.CheckpointSettings;
import tandem.orchestrator.checkpoint.JobDirectory;
import tandem.orchestrator.schedule.Schedule;
import tandem.model.train.Seeds;
import tandem.worker.OptimizerSnapshot;
import tandem.worker.TaskAssignment;
import tandem.worker.TrunkSnapshot;
import tandem.worker.Worker;

/**
 * The coordinator of one job: places its tasks' heads on workers, sends steps as its
 * {@link StepDispatch} decides (the job's {@link Schedule}; sync rounds, the next one sent ahead,
 * or async steps under credits and bounded staleness) to be trained with its child
 * {@link SharedParameters}, appends every step, evaluation and the outcome to the job's
 * {@link EventLog}, and at the end collects the trained parameters. Stops itself when the job
 * ends (succeeded, failed or cancelled), which stops the shared-parameter actor too.
 *
 * <p>Checkpoints (when the job has a {@link JobDirectory}): when one is due it stops dispatching,
 * lets the steps in flight finish, collects heads, optimizer states and batch positions from the
 * workers and the shared modules from its shared-parameter actor, keeps that in memory and
 * writes it off the actor ({@link JobDirectory#write}). A resumed job starts from one. A worker
 * that stops is not fatal while others are left: its tasks move to the least loaded live
 * workers with their heads from the latest checkpoint (initial parameters before the first), and
 * its steps in flight run again there ({@code worker_lost}, {@code tasks_moved} events).
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

  private record TaskStateCollected(Worker.TaskState state) implements Command {}

  private record SharedStateCollected(SharedParameters.State state) implements Command {}

  private record CheckpointSaved(long step, java.nio.file.Path path, Duration pause,
      Throwable error) implements Command {}

  private enum TimeLimitReached implements Command { INSTANCE }

  private enum AssignmentTimedOut implements Command { INSTANCE }

  private enum Phase { ASSIGNING, RUNNING, CHECKPOINTING, EVALUATING, COLLECTING }

  /**
   * @param workers every worker the job may use, in placement order, with their names
   */
  public static Behavior<Command> create(JobRecord record, TrainingPlan plan,
      List<ActorRef<Worker.Command>> workers, List<String> workerNames) {
    return create(record, plan, workers, workerNames, null, null, null);
  }

  /**
   * A coordinator that checkpoints into {@code directory} (null: no checkpoints) as
   * {@code settings} and the spec say, starting from {@code resumeFrom} (null: from the start).
   */
  public static Behavior<Command> create(JobRecord record, TrainingPlan plan,
      List<ActorRef<Worker.Command>> workers, List<String> workerNames, JobDirectory directory,
      CheckpointSettings settings, Checkpoint resumeFrom) {
    return create(record, plan, workers, workerNames, directory, settings, resumeFrom,
        DispatcherSelector.defaultDispatcher());
  }

  /** As above, with the shared-parameter actor on {@code parameterDispatcher}. */
  public static Behavior<Command> create(JobRecord record, TrainingPlan plan,
      List<ActorRef<Worker.Command>> workers, List<String> workerNames, JobDirectory directory,
      CheckpointSettings settings, Checkpoint resumeFrom, DispatcherSelector parameterDispatcher) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new Coordinator(context, timers, record, plan, workers, workerNames, directory, settings,
            resumeFrom, parameterDispatcher)));
  }

  private final TimerScheduler<Command> timers;
  private final Duration assignTimeout;
  private final JobRecord record;
  private final TrainingPlan plan;
  private final EventLog log;
  private final Map<String, ActorRef<Worker.Command>> ownerOf = new LinkedHashMap<>();
  private final Map<ActorRef<Worker.Command>, String> nameOf = new LinkedHashMap<>();
  private final Map<String, INDArray> initialParameters;
  private final SplittableRandom scheduleRandom;
  private final Map<String, Integer> dataSizes = new LinkedHashMap<>();
  private final StepDispatch dispatch;
  private final ActorRef<SharedParameters.Command> sharedParameters;
  private final List<Evaluation> evaluations = new ArrayList<>();
  private final Map<String, INDArray> trained = new LinkedHashMap<>();
  private Phase phase = Phase.ASSIGNING;
  private int awaitedReplies;
  private long completed;
  private long examples;
  private boolean finished;
  private boolean stopRequested;
  private long startedAtNanos;
  private final JobDirectory directory;
  private final CheckpointPolicy checkpoints;
  private final Checkpoint resumedFrom;
  private final List<ScheduleChange> scheduleChanges = new ArrayList<>();
  /** The latest checkpoint taken (in memory): where a lost worker's heads come back from. */
  private Checkpoint latest;
  private CheckpointAssembly assembly;
  private boolean checkpointDue;
  private boolean checkpointWriting;
  private boolean stoppedFromOutside;
  private ActorRef<Worker.SharedGradients> gradientsTo;
  /** Evaluation and collection: the workers whose reply counts, and those with a stale one due. */
  private final java.util.Set<String> awaitedWorkers = new java.util.HashSet<>();
  private final java.util.Set<String> staleReplies = new java.util.HashSet<>();

  private Coordinator(ActorContext<Command> context, TimerScheduler<Command> timers,
      JobRecord record, TrainingPlan plan, List<ActorRef<Worker.Command>> workers,
      List<String> workerNames, JobDirectory directory, CheckpointSettings settings,
      Checkpoint resumeFrom, DispatcherSelector parameterDispatcher) {
    super(context);
    this.timers = timers;
    this.record = record;
    this.plan = plan;
    this.log = record.events();
    this.directory = directory;
    this.resumedFrom = resumeFrom;
    this.checkpoints = directory == null
        ? CheckpointPolicy.never()
        : new CheckpointPolicy(plan.spec().getCheckpoint(), settings,
            resumeFrom == null ? 0 : resumeFrom.step(), System.nanoTime());
    Map<String, Integer> placement = Placement.place(plan.graph(), workers.size());
    placement.forEach((task, index) -> ownerOf.put(task, workers.get(index)));
    for (ActorRef<Worker.Command> worker : ownerOf.values()) {
      nameOf.put(worker, workerNames.get(workers.indexOf(worker)));
      context.watch(worker);
    }
    plan.graph().tasks().forEach(
        task -> dataSizes.put(task.name(), plan.trainingData().get(task.name()).size()));
    this.scheduleRandom = new SplittableRandom(Seeds.derive(plan.seed(), "schedule"));
    Schedule schedule = Schedule.create(plan.schedule(), List.copyOf(dataSizes.keySet()),
        dataSizes, scheduleRandom);
    long trunkVersion = 0;
    if (resumeFrom == null) {
      scheduleChanges.add(ScheduleChange.newBuilder().setSchedule(plan.spec().getSchedule())
          .build());
      this.initialParameters = ModelParameters.starting(plan, DataType.FLOAT);
    } else {
      this.initialParameters = new LinkedHashMap<>(resumeFrom.parameters());
      schedule = replaySchedule(resumeFrom, schedule);
      this.latest = resumeFrom;
      this.completed = resumeFrom.step();
      this.examples = resumeFrom.examples();
      trunkVersion = resumeFrom.trunkVersion();
    }
    this.dispatch = new StepDispatch(plan, ownerOf, schedule, completed, trunkVersion,
        context.getSystem().settings().config().getInt("tandem.orchestrator.sync-rounds-out"),
        new StepDispatch.Out() {
          @Override
          public void runStep(ActorRef<Worker.Command> worker, long step, String task,
              long minTrunkVersion) {
            worker.tell(new Worker.RunStep(record.jobId(), step, task, minTrunkVersion,
                System.nanoTime()));
          }

          @Override
          public void expectRound(long version, int steps) {
            Coordinator.this.sharedParameters.tell(
                new SharedParameters.ExpectRound(version, steps));
          }
        });
    Map<String, INDArray> shared = new LinkedHashMap<>();
    plan.graph().sharedModules().forEach(m -> shared.put(m, initialParameters.get(m)));
    this.sharedParameters = context.spawn(
        SharedParameters.create(record.jobId(), plan, new TrunkSnapshot(trunkVersion, shared),
            resumeFrom == null ? Map.of() : resumeFrom.sharedOptimizers(),
            List.copyOf(nameOf.keySet()),
            context.messageAdapter(SharedParameters.Report.class, FromParameters::new)),
        "shared-parameters", parameterDispatcher);
    context.watch(sharedParameters);
    this.assignTimeout = context.getSystem().settings().config()
        .getDuration("tandem.orchestrator.assign-timeout");
    timers.startSingleTimer(AssignmentTimedOut.INSTANCE, assignTimeout);
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
        .onMessage(TaskStateCollected.class, this::onTaskStateCollected)
        .onMessage(SharedStateCollected.class, this::onSharedStateCollected)
        .onMessage(CheckpointSaved.class, this::onCheckpointSaved)
        .onMessage(TimeLimitReached.class, message -> onTimeLimitReached())
        .onMessage(AssignmentTimedOut.class, message -> onAssignmentTimedOut())
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
    dispatch.schedule(Schedule.create(command.settings(), List.copyOf(dataSizes.keySet()),
        dataSizes, scheduleRandom));
    long after = dispatch.dispatched();
    log.append(TrainingEvent.newBuilder().setScheduleUpdated(ScheduleUpdated.newBuilder()
        .setAfterStep(after).setSchedule(command.spec())));
    scheduleChanges.add(ScheduleChange.newBuilder().setAfterStep(after)
        .setSchedule(command.spec()).build());
    getContext().getLog().info("job {}: schedule now {} after {} steps", record.jobId(),
        command.settings().policy(), after);
    command.replyTo().tell(JobManager.Outcome.ACCEPTED);
    return this;
  }

  private Behavior<Command> onFromWorker(FromWorker message) {
    if (message.outcome() instanceof Worker.StepFailed failed) {
      return finish(JobState.JOB_STATE_FAILED, "step " + failed.step() + " of task '"
          + failed.task() + "' failed on " + failed.worker() + ": " + failed.reason());
    }
    Worker.StepDone done = (Worker.StepDone) message.outcome();
    StepDispatch.PendingStep step = dispatch.outcome(done);
    if (step != null) {
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
    dispatch.applied(applied).forEach(this::completeIfReady);
    return advance();
  }

  private void assignTasks(ActorRef<Worker.SharedGradients> gradients) {
    ActorRef<Worker.StepOutcome> outcomes =
        getContext().messageAdapter(Worker.StepOutcome.class, FromWorker::new);
    ActorRef<Worker.Assigned> assigned =
        getContext().messageAdapter(Worker.Assigned.class, TasksAssigned::new);
    gradientsTo = gradients;
    TrunkSnapshot trunk = new TrunkSnapshot(dispatch.trunkVersion(), sharedInitial());
    for (ActorRef<Worker.Command> worker : nameOf.keySet()) {
      assign(worker, tasksOf(worker), resumedFrom, trunk, outcomes, assigned);
      awaitedReplies++;
    }
  }

  /**
   * Hands {@code tasks} to {@code worker} with their heads from {@code from} (a checkpoint:
   * parameters, optimizer states, batch positions) or, when null, their initial parameters.
   */
  private void assign(ActorRef<Worker.Command> worker, List<String> tasks, Checkpoint from,
      TrunkSnapshot trunk, ActorRef<Worker.StepOutcome> outcomes,
      ActorRef<Worker.Assigned> assigned) {
    Map<String, INDArray> heads = new LinkedHashMap<>();
    Map<String, OptimizerSnapshot> optimizers = new LinkedHashMap<>();
    Map<String, Long> drawn = new LinkedHashMap<>();
    for (String task : tasks) {
      for (String head : plan.graph().heads(task)) {
        // Copies: the worker owns and updates them; the checkpoint must stay as it was.
        heads.put(head, (from == null ? initialParameters : from.parameters()).get(head).dup());
        if (from != null && from.headOptimizers().containsKey(head)) {
          optimizers.put(head, from.headOptimizers().get(head));
        }
      }
      if (from != null && from.batchesDrawn().containsKey(task)) {
        drawn.put(task, from.batchesDrawn().get(task));
      }
    }
    worker.tell(new Worker.AssignTasks(new TaskAssignment(record.jobId(), plan, tasks, heads,
        trunk, gradientsTo, outcomes), assigned));
    if (!optimizers.isEmpty() || !drawn.isEmpty()) {
      worker.tell(new Worker.RestoreTasks(record.jobId(), optimizers, drawn));
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
    ownerOf.forEach((task, worker) -> started.addPlacements(placement(task, worker)));
    if (resumedFrom == null) {
      log.append(TrainingEvent.newBuilder().setJobStarted(started));
    } else {
      log.append(TrainingEvent.newBuilder().setJobResumed(JobResumed.newBuilder()
          .setFromStep(resumedFrom.step())
          .setFromSequence(resumedFrom.eventSequence())
          .setCheckpoint(directory == null ? "" : directory.path().toString())
          .addAllPlacements(started.getPlacementsList())));
    }
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
    if (phase != Phase.EVALUATING || !countReply(message.done().worker())) {
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
    ForgettingReports.of(plan, evaluations).ifPresent(report ->
        log.append(TrainingEvent.newBuilder().setForgettingReport(report)));
    phase = Phase.COLLECTING;
    awaitReplies();
    awaitedReplies = nameOf.size() + 1;
    sharedParameters.tell(new SharedParameters.GetParameters(
        getContext().messageAdapter(SharedParameters.Parameters.class, TrunkCollected::new)));
    ActorRef<Worker.Heads> heads = getContext().messageAdapter(Worker.Heads.class,
        HeadsCollected::new);
    nameOf.keySet().forEach(worker -> worker.tell(new Worker.GetHeads(record.jobId(), heads)));
    return this;
  }

  private Behavior<Command> onHeadsCollected(HeadsCollected message) {
    if (phase != Phase.COLLECTING || !countReply(message.heads().worker())) {
      return this;
    }
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

  /**
   * Workers that never take their tasks (a worker node that cannot compile the job's spec drops
   * the assignment) would otherwise leave the job assigning forever.
   */
  private Behavior<Command> onAssignmentTimedOut() {
    if (phase != Phase.ASSIGNING) {
      return this;
    }
    return finish(JobState.JOB_STATE_FAILED, "the job's workers did not all take their tasks"
        + " within " + assignTimeout + " (a worker node that cannot read the spec's data or"
        + " compile it drops the assignment; see the worker nodes' logs)");
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
    ActorRef<Worker.Command> worker = signal.getRef().unsafeUpcast();
    String name = nameOf.getOrDefault(worker, "a worker");
    if (!nameOf.containsKey(worker)) {
      return this;
    }
    if (org.apache.pekko.actor.CoordinatedShutdown.get(getContext().getSystem())
        .getShutdownReason().isPresent()) {
      // The server is shutting down and its workers stop before this coordinator does: not a
      // lost worker. The coordinator's own stop (onPostStop) leaves the job resumable; failing
      // it here marked it finished, and a restarted server did not resume it (ResumeTest).
      return this;
    }
    if (phase == Phase.ASSIGNING || nameOf.size() == 1) {
      return finish(JobState.JOB_STATE_FAILED, name + " stopped while running the job"
          + (nameOf.size() == 1 ? " and no other worker of the job is left" : ""));
    }
    moveTasksOf(worker);
    return this;
  }

  /**
   * Moves a lost worker's tasks to the least loaded live workers of the job, with their heads
   * from the latest checkpoint, and runs its unreported steps again there. A checkpoint,
   * evaluation or collection that waited for it starts over.
   */
  private void moveTasksOf(ActorRef<Worker.Command> lost) {
    String lostName = nameOf.remove(lost);
    dispatch.workerLost(lost);
    List<String> tasks = tasksOf(lost);
    List<Long> inFlight = dispatch.unreported(tasks);
    log.append(TrainingEvent.newBuilder().setWorkerLost(WorkerLost.newBuilder()
        .setWorker(lostName).addAllTasks(tasks).addAllStepsInFlight(inFlight)));
    getContext().getLog().warn("job {}: {} lost with tasks {} and steps {} in flight; moving them",
        record.jobId(), lostName, tasks, inFlight);
    List<ActorRef<Worker.Command>> live = new ArrayList<>(nameOf.keySet());
    long[] load = new long[live.size()];
    ownerOf.forEach((task, owner) -> {
      int index = live.indexOf(owner);
      if (index >= 0) {
        load[index] += Placement.headSize(plan.graph(), task);
      }
    });
    TasksMoved.Builder moved = TasksMoved.newBuilder().setFromWorker(lostName)
        .setHeadsFromStep(latest == null ? 0 : latest.step());
    Map<ActorRef<Worker.Command>, List<String>> byOwner = new LinkedHashMap<>();
    Placement.reassign(plan.graph(), tasks, load).forEach((task, index) -> {
      ActorRef<Worker.Command> owner = live.get(index);
      ownerOf.put(task, owner);
      byOwner.computeIfAbsent(owner, o -> new ArrayList<>()).add(task);
      moved.addPlacements(placement(task, owner));
    });
    ActorRef<Worker.StepOutcome> outcomes =
        getContext().messageAdapter(Worker.StepOutcome.class, FromWorker::new);
    ActorRef<Worker.Assigned> assigned =
        getContext().messageAdapter(Worker.Assigned.class, TasksAssigned::new);
    // Every live worker of the job already holds a replica, so the trunk here is not read.
    TrunkSnapshot trunk = new TrunkSnapshot(dispatch.trunkVersion(), sharedInitial());
    byOwner.forEach((owner, owned) -> assign(owner, owned, latest, trunk, outcomes, assigned));
    List<Long> rerun = new ArrayList<>();
    for (long number : inFlight) {
      if (dispatch.gradientApplied(number)) {
        // Its gradient is in the trunk; only its report was lost with the worker.
        dispatch.doneWithoutOutcome(number);
        completed++;
        moved.addStepsWithoutOutcome(number);
      } else {
        rerun.add(number);
      }
    }
    log.append(TrainingEvent.newBuilder().setTasksMoved(moved.addAllStepsRerun(rerun)));
    rerun.forEach(dispatch::rerun);
    switch (phase) {
      case CHECKPOINTING -> {
        // Its part of the checkpoint will not come: take the checkpoint again once drained.
        assembly = null;
        phase = Phase.RUNNING;
        checkpointDue = true;
      }
      case EVALUATING, COLLECTING -> {
        // Heads came back from a checkpoint: evaluate and collect again. Workers that had not
        // answered yet still will, once, for the abandoned round.
        staleReplies.addAll(awaitedWorkers);
        staleReplies.remove(lostName);
        evaluations.clear();
        trained.clear();
        phase = Phase.RUNNING;
      }
      default -> { }
    }
    advance();
  }

  /** Dispatches what credits and the round allow, or moves on once training is over. */
  private Behavior<Command> advance() {
    if (phase != Phase.RUNNING) {
      return this;
    }
    boolean trainingOver = stopRequested || completed == plan.maxSteps();
    if (!trainingOver && !checkpointWriting && checkpoints.due(completed, System.nanoTime())) {
      checkpointDue = true;
    }
    if (!checkpointDue && !stopRequested) {
      dispatch.dispatch();
    }
    trainingOver = stopRequested || completed == plan.maxSteps();
    if (!dispatch.idle()) {
      return this;
    }
    if (checkpointDue || trainingOver && checkpoints.finalDue(completed)) {
      if (!checkpointWriting) {
        startCheckpoint();
      }
    } else if (trainingOver && !checkpointWriting) {
      // After the final checkpoint is on disk (and in the log), not while it is written.
      startEvaluation();
    }
    return this;
  }

  /** Asks every worker and the shared-parameter actor for their state; nothing is in flight. */
  private void startCheckpoint() {
    phase = Phase.CHECKPOINTING;
    checkpointDue = false;
    assembly = new CheckpointAssembly(new java.util.HashSet<>(nameOf.values()), System.nanoTime());
    ActorRef<Worker.TaskState> states =
        getContext().messageAdapter(Worker.TaskState.class, TaskStateCollected::new);
    nameOf.keySet().forEach(worker -> worker.tell(new Worker.GetTaskState(record.jobId(), states)));
    sharedParameters.tell(new SharedParameters.GetState(
        getContext().messageAdapter(SharedParameters.State.class, SharedStateCollected::new)));
  }

  private Behavior<Command> onTaskStateCollected(TaskStateCollected message) {
    if (phase == Phase.CHECKPOINTING && assembly != null) {
      assembly.add(message.state());
      return checkpointCollected();
    }
    return this;
  }

  private Behavior<Command> onSharedStateCollected(SharedStateCollected message) {
    if (phase == Phase.CHECKPOINTING && assembly != null) {
      assembly.add(message.state());
      return checkpointCollected();
    }
    return this;
  }

  /** Once every part is in: keep it, write it off the actor, and go on training. */
  private Behavior<Command> checkpointCollected() {
    if (!assembly.complete()) {
      return this;
    }
    latest = assembly.build(record.jobId(), plan.spec(), completed, examples,
        scheduleChanges, log.read(0, Integer.MAX_VALUE).events());
    long pauseStarted = assembly.startedAtNanos();
    assembly = null;
    checkpoints.taken(completed, System.nanoTime());
    phase = Phase.RUNNING;
    Checkpoint checkpoint = latest;
    checkpointWriting = true;
    // Disk writes block: they run on Pekko's blocking dispatcher, not on this actor's.
    java.util.concurrent.Executor blocking = getContext().getSystem().dispatchers()
        .lookup(org.apache.pekko.actor.typed.DispatcherSelector.blocking());
    getContext().pipeToSelf(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return directory.write(checkpoint);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }, blocking), (path, error) -> new CheckpointSaved(checkpoint.step(), path,
        Duration.ofNanos(System.nanoTime() - pauseStarted), error));
    return advance();
  }

  private Behavior<Command> onCheckpointSaved(CheckpointSaved message) {
    checkpointWriting = false;
    if (message.error() != null) {
      getContext().getLog().error("job {}: checkpoint at step {} could not be written",
          record.jobId(), message.step(), message.error());
    } else {
      log.append(TrainingEvent.newBuilder().setCheckpointWritten(CheckpointWritten.newBuilder()
          .setStep(message.step()).setPath(message.path().toString())
          .setPause(proto(message.pause()))));
      getContext().getLog().info("job {}: checkpoint at step {} in {}", record.jobId(),
          message.step(), message.path());
    }
    return advance();
  }

  /**
   * Whether a reply from {@code worker} counts in this evaluation or collection: once per live
   * worker, after the one reply it still owed to a round abandoned when a worker was lost.
   */
  private boolean countReply(String worker) {
    if (staleReplies.remove(worker)) {
      return false;
    }
    return awaitedWorkers.remove(worker);
  }

  private void awaitReplies() {
    awaitedWorkers.clear();
    awaitedWorkers.addAll(nameOf.values());
  }

  private void completeIfReady(long stepNumber, StepDispatch.PendingStep step) {
    if (!dispatch.completeIfReady(stepNumber)) {
      return;
    }
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
    awaitReplies();
    awaitedReplies = nameOf.size();
    ActorRef<Worker.EvaluationDone> replies =
        getContext().messageAdapter(Worker.EvaluationDone.class, Evaluated::new);
    nameOf.keySet().forEach(worker ->
        worker.tell(new Worker.Evaluate(record.jobId(), dispatch.trunkVersion(), replies)));
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
    // A coordinator stopped from outside (the server shutting down) leaves its job resumable.
    if (directory != null && !stoppedFromOutside) {
      try {
        directory.markFinished(state.name());
      } catch (java.io.IOException e) {
        getContext().getLog().warn("job {}: cannot mark its directory finished", record.jobId(), e);
      }
    }
    return Behaviors.stopped();
  }

  /**
   * {@code schedule} and the changes after it, with their draws replayed up to the checkpoint's
   * step (see CheckpointManifest).
   */
  private Schedule replaySchedule(Checkpoint from, Schedule schedule) {
    List<ScheduleChange> changes = from.scheduleChanges();
    scheduleChanges.addAll(changes);
    long done = 0;
    for (int i = 0; i < changes.size(); i++) {
      long until = i + 1 < changes.size() ? changes.get(i + 1).getAfterStep() : from.step();
      if (i > 0) {
        try {
          schedule = Schedule.create(SettingsSpecs.schedule(changes.get(i).getSchedule(),
              List.copyOf(dataSizes.keySet()), "schedule"), List.copyOf(dataSizes.keySet()),
              dataSizes, scheduleRandom);
        } catch (InvalidSpecException e) {
          throw new IllegalStateException("a checkpoint's schedule change is invalid", e);
        }
      }
      for (; done < until; done++) {
        schedule.peek();
        schedule.advance();
      }
    }
    return schedule;
  }

  private TaskPlacement.Builder placement(String task, ActorRef<Worker.Command> worker) {
    return TaskPlacement.newBuilder().setTask(task).setWorker(nameOf.get(worker))
        .addAllHeads(plan.graph().heads(task));
  }

  /**
   * A coordinator that stops without having ended its job (a bug threw in a handler, which stops a
   * typed actor) still ends the job's log, so that subscribers and status see a failure instead
   * of a job running forever, and still frees the workers.
   */
  private Behavior<Command> onPostStop() {
    if (!finished) {
      if (org.apache.pekko.actor.CoordinatedShutdown.get(getContext().getSystem())
          .getShutdownReason().isPresent()) {
        stoppedFromOutside = true;
        getContext().getLog().info("job {} stopped by the server's shutdown", record.jobId());
        finish(JobState.JOB_STATE_FAILED, directory == null
            ? "the server shut down while the job ran"
            : "the server shut down; the job resumes from its last checkpoint when it restarts");
      } else {
        // Marked finished: a job whose coordinator failed is not resumed at the next start, where
        // it would fail again.
        getContext().getLog().error("coordinator of job {} stopped before the job ended",
            record.jobId());
        finish(JobState.JOB_STATE_FAILED,
            "internal error in the job's coordinator; see the server log");
      }
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
