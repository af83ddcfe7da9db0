package tandem.orchestrator.job;

import java.time.Instant;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.ScheduleSpec;
import tandem.api.v1.TrainingEvent;
import tandem.model.spec.ScheduleSettings;
import tandem.model.spec.TrainingPlan;
import tandem.orchestrator.checkpoint.Checkpoint;
import tandem.orchestrator.checkpoint.CheckpointSettings;
import tandem.orchestrator.checkpoint.JobDirectory;
import tandem.worker.Worker;

/**
 * Starts jobs and routes commands to their coordinators: gives each submitted job an id, an
 * event log in the {@link JobStore} and a {@link Coordinator} over the workers it may use.
 * Jobs run side by side; one job's failure never touches another's coordinator.
 *
 * <p>With a job directory ({@link CheckpointSettings}) each job checkpoints there, ids continue
 * after the highest one found there (so they stay unique across restarts), and
 * {@link ResumeJob} restarts a job from its latest checkpoint. The workers it may use change as
 * worker nodes join and leave ({@link WorkersChanged}); jobs that arrive while there are fewer
 * than {@code minWorkers} wait, pending, for more.
 *
 * <p>Supervised ({@link #supervised}): an exception while it handles a message restarts it
 * without stopping its coordinators, and the new incarnation recovers its state from what
 * outlives it: the {@link JobStore}, its children (each running job's coordinator), the job
 * directory (the highest job id) and a small memory kept across restarts (the workers, the
 * serialised directory writes). A job that was waiting to start has no coordinator to recover
 * and is failed with the reason. Writes to job directories (fsync'd) run off its thread.
 *
 * <p>State confined to the actor; the gRPC services ask it, at the edge.
 */
public final class JobManager extends AbstractBehavior<JobManager.Command> {

  /** Messages the job manager accepts. */
  public sealed interface Command {}

  /** Start a job from a compiled plan; replies with its id. */
  public record StartJob(JobSpec spec, TrainingPlan plan, ActorRef<String> replyTo)
      implements Command {}

  /** Cancel a running job. */
  public record CancelJob(String jobId, ActorRef<Outcome> replyTo) implements Command {}

  /** Replace a running job's schedule (already checked against its tasks). */
  public record UpdateSchedule(String jobId, ScheduleSpec spec, ScheduleSettings settings,
      ActorRef<Outcome> replyTo) implements Command {}

  /**
   * Restart job {@code jobId} from {@code checkpoint} (null: from step 0) with {@code plan},
   * compiled from the job's spec; replies {@link Outcome#ALREADY_RUNNING} if it runs. A
   * checkpoint whose event history cannot be resumed fails the job with the reason (its status
   * says so) and is answered {@link Outcome#ACCEPTED}.
   */
  public record ResumeJob(String jobId, Checkpoint checkpoint, TrainingPlan plan,
      ActorRef<Outcome> replyTo) implements Command {}

  /** Every worker jobs may use from now on (running jobs keep theirs). */
  public record WorkersChanged(List<WorkerHandle> workers) implements Command {}

  /**
   * Reply to {@link CancelJob}, {@link UpdateSchedule} and {@link ResumeJob}; {@code FAILED}: the
   * request met a bug, logged with its cause, and changed nothing else.
   */
  public enum Outcome { ACCEPTED, NOT_RUNNING, UNKNOWN_JOB, ALREADY_RUNNING, FAILED }

  /**
   * A worker the manager may place tasks on. {@code dispatcher} is the config path of the
   * dispatcher of a local worker's thread, or {@code null} for a worker on another node.
   */
  public record WorkerHandle(String name, ActorRef<Worker.Command> ref, String dispatcher) {}

  /**
   * @param retainedEvents events each job's log keeps for late or slow subscribers
   */
  public static Behavior<Command> create(JobStore store, List<WorkerHandle> workers,
      int retainedEvents) {
    if (workers.isEmpty()) {
      throw new IllegalArgumentException("expected at least one worker, found none");
    }
    return create(store, workers, retainedEvents, null, 1);
  }

  /**
   * @param checkpoints where jobs keep their directories; null: no checkpoints
   * @param minWorkers workers a job waits for before it starts
   */
  public static Behavior<Command> create(JobStore store, List<WorkerHandle> workers,
      int retainedEvents, CheckpointSettings checkpoints, int minWorkers) {
    ManagerRecovery.Memory memory = new ManagerRecovery.Memory(workers,
        checkpoints == null ? null : new DirectoryWork(checkpoints.jobDir()));
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> new JobManager(context,
        timers, store, memory, retainedEvents, checkpoints, minWorkers)));
  }

  /**
   * {@link #create(JobStore, List, int, CheckpointSettings, int)}, restarted on an exception
   * with its running jobs' coordinators kept and its state recovered.
   */
  public static Behavior<Command> supervised(JobStore store, List<WorkerHandle> workers,
      int retainedEvents, CheckpointSettings checkpoints, int minWorkers) {
    return Behaviors.supervise(create(store, workers, retainedEvents, checkpoints, minWorkers))
        .onFailure(SupervisorStrategy.restart().withStopChildren(false));
  }

  /** Time to ask the coordinators whether they answer ({@link RunningJobs}). */
  private enum Tick implements Command { CHECK_COORDINATORS }

  /** A coordinator answered ({@code error} null) or did not, in time. */
  private record CoordinatorAnswered(ActorRef<Coordinator.Command> coordinator, Throwable error)
      implements Command {}

  /** A job's directory is ready for its coordinator (its finished mark cleared). */
  private record DirectoryReady(JobRecord record, TrainingPlan plan, Checkpoint from)
      implements Command {}

  private final JobStore store;
  private final ManagerRecovery.Memory memory;
  private List<WorkerHandle> workers;
  private final int retainedEvents;
  private final CheckpointSettings checkpoints;
  private final int minWorkers;
  /** The running jobs' coordinators, and whether they still answer. */
  private final RunningJobs running;
  /** Jobs waiting for workers, in arrival order: what to spawn once there are enough. */
  private final java.util.ArrayDeque<Runnable> waiting = new java.util.ArrayDeque<>();
  private long jobsStarted;

  private JobManager(ActorContext<Command> context, TimerScheduler<Command> timers,
      JobStore store, ManagerRecovery.Memory memory, int retainedEvents,
      CheckpointSettings checkpoints, int minWorkers) {
    super(context);
    this.store = store;
    this.memory = memory;
    this.workers = memory.workers;
    this.retainedEvents = retainedEvents;
    this.checkpoints = checkpoints;
    this.minWorkers = Math.max(1, minWorkers);
    this.running = new RunningJobs(context.getSystem().settings().config());
    timers.startTimerWithFixedDelay(Tick.CHECK_COORDINATORS, running.every());
    this.jobsStarted =
        ManagerRecovery.highestJobNumber(checkpoints == null ? null : checkpoints.jobDir(), store);
    if (memory.started) {
      recover();
    }
    memory.started = true;
  }

  /**
   * After a restart: takes the running jobs' coordinators back from the children (the newest of
   * each job's, by name) and fails the jobs that were waiting to start, whose plans were lost.
   */
  private void recover() {
    running.recover(getContext());
    for (JobRecord record : store.all()) {
      if (!record.events().complete() && !running.contains(record.jobId())) {
        failJob(record, "the job manager restarted (after an error, see the server log) while "
            + "the job waited to start; resume it to run it");
      }
    }
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(StartJob.class, this::onStartJob)
        .onMessage(CancelJob.class, this::onCancelJob)
        .onMessage(UpdateSchedule.class, this::onUpdateSchedule)
        .onMessage(ResumeJob.class, this::onResumeJob)
        .onMessage(WorkersChanged.class, this::onWorkersChanged)
        .onMessage(DirectoryReady.class,
            ready -> startWhenWorkers(ready.record(), ready.plan(), ready.from()))
        .onMessageEquals(Tick.CHECK_COORDINATORS, () -> {
          running.askAll(getContext(), CoordinatorAnswered::new);
          return this;
        })
        .onMessage(CoordinatorAnswered.class, this::onCoordinatorAnswered)
        .onSignal(Terminated.class, this::onTerminated)
        .build();
  }

  private Behavior<Command> onStartJob(StartJob command) {
    String jobId = JobIds.of(++jobsStarted);
    JobRecord record = new JobRecord(jobId, command.spec(),
        new EventLog(jobId, command.spec().getName(), retainedEvents, Instant.now()));
    store.add(record);
    if (checkpoints != null) {
      memory.directories.writeSpec(blocking(), jobId, command.spec());
    }
    getContext().getLog().info("job {} ({}) submitted: {} tasks, {} steps", jobId,
        command.spec().getName(), command.plan().graph().tasks().size(),
        command.plan().maxSteps());
    command.replyTo().tell(jobId);
    startWhenWorkers(record, command.plan(), null);
    return this;
  }

  private Behavior<Command> onResumeJob(ResumeJob command) {
    String jobId = command.jobId();
    if (!JobIds.isValid(jobId)) {
      // The gRPC edge refuses these; an id that names another directory must never get here.
      getContext().getLog().warn("resume of a job with an invalid id refused");
      command.replyTo().tell(Outcome.UNKNOWN_JOB);
      return this;
    }
    // Running, waiting for workers, or resumed a moment ago (its directory being readied).
    if (store.find(jobId).map(r -> !r.events().complete()).orElse(false)) {
      command.replyTo().tell(Outcome.ALREADY_RUNNING);
      return this;
    }
    // The ended run's coordinator may still be stopping: its end must not fail the new run.
    running.forget(jobId);
    Checkpoint checkpoint = command.checkpoint();
    JobSpec spec = command.plan().spec();
    EventLog log;
    try {
      // From the checkpoint's log state and newest events; without one, a log of no events.
      log = checkpoint != null
          ? EventLog.resumed(jobId, spec.getName(), retainedEvents, checkpoint.logState(),
              checkpoint.events())
          : EventLog.resumed(jobId, spec.getName(), retainedEvents, Instant.now(), List.of());
    } catch (RuntimeException e) {
      // A gapped or damaged history (or one whose start the event ring had dropped before the
      // first checkpoint): this one job fails, with the reason; the manager goes on.
      getContext().getLog().error("job {}: cannot resume from its checkpoint's events", jobId, e);
      JobRecord failed = new JobRecord(jobId, spec, new EventLog(jobId, spec.getName(),
          retainedEvents, ProtoTime.instant(checkpoint.logState().getSubmittedAt())));
      store.put(failed);
      failJob(failed, "cannot resume from the checkpoint at step " + checkpoint.step()
          + ": its event history is unusable (" + e.getMessage() + ")");
      command.replyTo().tell(Outcome.ACCEPTED);
      return this;
    }
    JobRecord record = new JobRecord(jobId, spec, log);
    store.put(record);
    getContext().getLog().info("job {} ({}) resumed from step {}", jobId, spec.getName(),
        checkpoint == null ? 0 : checkpoint.step());
    command.replyTo().tell(Outcome.ACCEPTED);
    if (checkpoints == null) {
      startWhenWorkers(record, command.plan(), checkpoint);
    } else {
      // Cleared before the coordinator starts: its own finished mark must come after.
      getContext().pipeToSelf(memory.directories.submit(blocking(), jobId,
          "clear its finished mark", JobDirectory::clearFinished),
          (done, error) -> new DirectoryReady(record, command.plan(), checkpoint));
    }
    return this;
  }

  private java.util.concurrent.Executor blocking() {
    return getContext().getSystem().dispatchers().lookup(DispatcherSelector.blocking());
  }

  private Behavior<Command> onWorkersChanged(WorkersChanged command) {
    workers = List.copyOf(command.workers());
    memory.workers = workers;
    getContext().getLog().info("{} workers available: {}", workers.size(),
        workers.stream().map(WorkerHandle::name).toList());
    while (workers.size() >= minWorkers && !waiting.isEmpty()) {
      waiting.poll().run();
    }
    return this;
  }

  /** Spawns the job's coordinator now, or once enough workers are known. */
  private Behavior<Command> startWhenWorkers(JobRecord record, TrainingPlan plan, Checkpoint from) {
    Runnable start = () -> spawnCoordinator(record, plan, from);
    if (workers.size() >= minWorkers && waiting.isEmpty()) {
      start.run();
    } else {
      getContext().getLog().info("job {} waits for workers: {} of {}", record.jobId(),
          workers.size(), minWorkers);
      waiting.add(start);
    }
    return this;
  }

  private void spawnCoordinator(JobRecord record, TrainingPlan plan, Checkpoint from) {
    if (record.events().complete()) {
      return; // cancelled while it waited
    }
    try {
      List<WorkerHandle> chosen = WorkerChoice.choose(plan, workers, memory.coordinatorsSpawned);
      getContext().watch(running.spawn(getContext(), record, plan, chosen,
          ++memory.coordinatorsSpawned, checkpoints, from));
    } catch (RuntimeException e) {
      getContext().getLog().error("job {}: cannot start its coordinator", record.jobId(), e);
      failJob(record, "the job could not start; see the server log");
    }
  }

  /**
   * A coordinator that did not answer in time: its job fails, naming where it is stuck, and it
   * is stopped (once its thread frees, if ever); the manager and the other jobs go on.
   */
  private Behavior<Command> onCoordinatorAnswered(CoordinatorAnswered answer) {
    String reason = running.answered(getContext(), answer.coordinator(), answer.error());
    if (reason != null) {
      running.remove(answer.coordinator()).flatMap(store::find)
          .ifPresent(record -> failJob(record, reason));
      getContext().stop(answer.coordinator());
    }
    return this;
  }

  private Behavior<Command> onCancelJob(CancelJob command) {
    java.util.Optional<JobRecord> record = store.find(command.jobId());
    ActorRef<Coordinator.Command> coordinator = running.get(command.jobId());
    if (record.isEmpty()) {
      command.replyTo().tell(Outcome.UNKNOWN_JOB);
    } else if (record.get().events().complete()) {
      // The log is the truth: a coordinator may still be stopping after its final event.
      command.replyTo().tell(Outcome.NOT_RUNNING);
    } else if (coordinator == null) {
      // Waiting for workers: it never started.
      endJob(record.get(), JobState.JOB_STATE_CANCELLED,
          "cancelled by request while waiting for workers");
      command.replyTo().tell(Outcome.ACCEPTED);
    } else {
      coordinator.tell(new Coordinator.Cancel(command.replyTo()));
    }
    return this;
  }

  private Behavior<Command> onUpdateSchedule(UpdateSchedule command) {
    runningCoordinator(command.jobId(), command.replyTo())
        .ifPresent(coordinator -> coordinator.tell(new Coordinator.UpdateSchedule(command.spec(),
            command.settings(), command.replyTo())));
    return this;
  }

  /**
   * The coordinator of a job that is still running; otherwise answers {@code replyTo} with why not
   * and returns nothing. The log is the truth: a coordinator may still be stopping after its
   * final event.
   */
  private java.util.Optional<ActorRef<Coordinator.Command>> runningCoordinator(String jobId,
      ActorRef<Outcome> replyTo) {
    java.util.Optional<JobRecord> record = store.find(jobId);
    ActorRef<Coordinator.Command> coordinator = running.get(jobId);
    if (record.isEmpty()) {
      replyTo.tell(Outcome.UNKNOWN_JOB);
    } else if (coordinator == null || record.get().events().complete()) {
      replyTo.tell(Outcome.NOT_RUNNING);
    } else {
      return java.util.Optional.of(coordinator);
    }
    return java.util.Optional.empty();
  }

  /**
   * A coordinator stopped. One that stopped without ending its job's log (it failed while it
   * started, before it could) fails the job here, so that the job neither shows as running
   * forever nor is resumed at the next start; unless the server is shutting down, which leaves
   * jobs resumable.
   */
  private Behavior<Command> onTerminated(Terminated signal) {
    java.util.Optional<String> jobId = running.remove(signal.getRef());
    boolean shuttingDown = org.apache.pekko.actor.CoordinatedShutdown.get(getContext().getSystem())
        .getShutdownReason().isPresent();
    jobId.flatMap(store::find).filter(record -> !record.events().complete() && !shuttingDown)
        .ifPresent(record -> {
          getContext().getLog().error("job {}: its coordinator stopped before the job ended",
              record.jobId());
          failJob(record, "the job's coordinator failed; see the server log");
        });
    return this;
  }

  /** Ends {@code record}'s log as failed and marks its directory finished: never resumed. */
  private void failJob(JobRecord record, String message) {
    endJob(record, JobState.JOB_STATE_FAILED, message);
  }

  /** Ends {@code record}'s log in {@code state} (unless it ended) and marks its directory so. */
  private void endJob(JobRecord record, JobState state, String message) {
    if (!record.events().complete()) {
      record.events().append(TrainingEvent.newBuilder().setJobFinished(
          JobFinished.newBuilder().setState(state).setMessage(message)));
    }
    if (checkpoints != null) {
      memory.directories.submit(blocking(), record.jobId(), "mark its directory finished",
          directory -> directory.markFinished(state.name()));
    }
  }
}
