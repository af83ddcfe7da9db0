package tandem.orchestrator.job;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import tandem.api.v1.JobSpec;
import tandem.api.v1.ScheduleSpec;
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
   * compiled from the job's spec; replies {@link Outcome#ALREADY_RUNNING} if it runs.
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
    return Behaviors.setup(context ->
        new JobManager(context, store, workers, retainedEvents, checkpoints, minWorkers));
  }

  private final JobStore store;
  private List<WorkerHandle> workers;
  private final int retainedEvents;
  private final CheckpointSettings checkpoints;
  private final int minWorkers;
  private final Map<String, ActorRef<Coordinator.Command>> running = new HashMap<>();
  /** Jobs waiting for workers, in arrival order: what to spawn once there are enough. */
  private final java.util.ArrayDeque<Runnable> waiting = new java.util.ArrayDeque<>();
  private long jobsStarted;
  private long coordinatorsSpawned;

  private JobManager(ActorContext<Command> context, JobStore store, List<WorkerHandle> workers,
      int retainedEvents, CheckpointSettings checkpoints, int minWorkers) {
    super(context);
    this.store = store;
    this.workers = List.copyOf(workers);
    this.retainedEvents = retainedEvents;
    this.checkpoints = checkpoints;
    this.minWorkers = Math.max(1, minWorkers);
    if (checkpoints != null) {
      jobsStarted = highestJobNumber(checkpoints.jobDir());
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
        .onSignal(Terminated.class, this::onTerminated)
        .build();
  }

  private Behavior<Command> onStartJob(StartJob command) {
    String jobId = JobIds.of(++jobsStarted);
    JobRecord record = new JobRecord(jobId, command.spec(),
        new EventLog(jobId, command.spec().getName(), retainedEvents, Instant.now()));
    store.add(record);
    if (checkpoints != null) {
      try {
        new JobDirectory(checkpoints.jobDir(), jobId).writeSpec(command.spec());
      } catch (java.io.IOException e) {
        getContext().getLog().warn("job {}: cannot write its spec under {}; it cannot be resumed",
            jobId, checkpoints.jobDir(), e);
      }
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
    if (running.containsKey(jobId) && store.find(jobId).map(r -> !r.events().complete())
        .orElse(false)) {
      command.replyTo().tell(Outcome.ALREADY_RUNNING);
      return this;
    }
    Checkpoint checkpoint = command.checkpoint();
    JobSpec spec = command.plan().spec();
    List<tandem.api.v1.TrainingEvent> history =
        checkpoint == null ? List.of() : checkpoint.events();
    Instant submitted = history.isEmpty() ? Instant.now() : Instant.ofEpochSecond(
        history.get(0).getTime().getSeconds(), history.get(0).getTime().getNanos());
    EventLog log;
    try {
      log = EventLog.resumed(jobId, spec.getName(), retainedEvents, submitted, history);
    } catch (RuntimeException e) {
      getContext().getLog().error("job {}: cannot resume from its checkpoint's events", jobId, e);
      command.replyTo().tell(Outcome.FAILED);
      return this;
    }
    JobRecord record = new JobRecord(jobId, spec, log);
    store.put(record);
    if (checkpoints != null) {
      try {
        new JobDirectory(checkpoints.jobDir(), jobId).clearFinished();
      } catch (java.io.IOException e) {
        getContext().getLog().warn("job {}: cannot clear its finished mark", jobId, e);
      }
    }
    getContext().getLog().info("job {} ({}) resumed from step {}", jobId, spec.getName(),
        checkpoint == null ? 0 : checkpoint.step());
    command.replyTo().tell(Outcome.ACCEPTED);
    startWhenWorkers(record, command.plan(), checkpoint);
    return this;
  }

  private Behavior<Command> onWorkersChanged(WorkersChanged command) {
    workers = List.copyOf(command.workers());
    getContext().getLog().info("{} workers available: {}", workers.size(),
        workers.stream().map(WorkerHandle::name).toList());
    while (workers.size() >= minWorkers && !waiting.isEmpty()) {
      waiting.poll().run();
    }
    return this;
  }

  /** Spawns the job's coordinator now, or once enough workers are known. */
  private void startWhenWorkers(JobRecord record, TrainingPlan plan, Checkpoint from) {
    Runnable start = () -> spawnCoordinator(record, plan, from);
    if (workers.size() >= minWorkers && waiting.isEmpty()) {
      start.run();
    } else {
      getContext().getLog().info("job {} waits for workers: {} of {}", record.jobId(),
          workers.size(), minWorkers);
      waiting.add(start);
    }
  }

  private void spawnCoordinator(JobRecord record, TrainingPlan plan, Checkpoint from) {
    if (record.events().complete()) {
      return; // cancelled while it waited
    }
    try {
      spawnCoordinatorOf(record, plan, from);
    } catch (RuntimeException e) {
      getContext().getLog().error("job {}: cannot start its coordinator", record.jobId(), e);
      failJob(record, "the job could not start; see the server log");
    }
  }

  private void spawnCoordinatorOf(JobRecord record, TrainingPlan plan, Checkpoint from) {
    int count = plan.workers() == 0 ? workers.size() : Math.min(plan.workers(), workers.size());
    // Rotate the starting worker so that concurrent small jobs spread over the cores.
    List<WorkerHandle> chosen = new java.util.ArrayList<>();
    for (int i = 0; i < count; i++) {
      chosen.add(workers.get((int) ((coordinatorsSpawned + i) % workers.size())));
    }
    coordinatorsSpawned++;
    JobDirectory directory = checkpoints == null ? null
        : new JobDirectory(checkpoints.jobDir(), record.jobId());
    // A resumed job's earlier coordinator may still be stopping under the plain name.
    String name = from == null && !running.containsKey(record.jobId())
        ? record.jobId() : record.jobId() + "-" + coordinatorsSpawned;
    ActorRef<Coordinator.Command> coordinator = getContext().spawn(
        Coordinator.create(record, plan, chosen.stream().map(WorkerHandle::ref).toList(),
            chosen.stream().map(WorkerHandle::name).toList(), directory, checkpoints, from,
            parameterDispatcher(plan, chosen)),
        name);
    getContext().watch(coordinator);
    running.put(record.jobId(), coordinator);
  }

  /** The largest n of the job-n directories under {@code jobDir}, 0 if none. */
  private static long highestJobNumber(java.nio.file.Path jobDir) {
    long highest = 0;
    try {
      for (String id : JobDirectory.jobIds(jobDir)) {
        if (JobIds.isValid(id)) {
          highest = Math.max(highest, JobIds.number(id));
        }
      }
    } catch (java.io.IOException | NumberFormatException e) {
      // No readable directory yet: ids start at 1.
    }
    return highest;
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
      record.get().events().append(tandem.api.v1.TrainingEvent.newBuilder().setJobFinished(
          tandem.api.v1.JobFinished.newBuilder()
              .setState(tandem.api.v1.JobState.JOB_STATE_CANCELLED)
              .setMessage("cancelled by request while waiting for workers")));
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
   * Where a job's shared-parameter actor runs. In sync mode every worker of the job waits while
   * a round is applied, so the actor can borrow the first worker's thread for free, and that
   * worker then gets each new version without a thread hand-off; in async mode, or when the
   * first worker is on another node, it runs on the default dispatcher.
   */
  private static DispatcherSelector parameterDispatcher(TrainingPlan plan,
      List<WorkerHandle> chosen) {
    String dispatcher = chosen.get(0).dispatcher();
    return plan.consistency().async() || dispatcher == null
        ? DispatcherSelector.defaultDispatcher() : DispatcherSelector.fromConfig(dispatcher);
  }

  /**
   * A coordinator stopped. One that stopped without ending its job's log (it failed while it
   * started, before it could) fails the job here, so that the job neither shows as running
   * forever nor is resumed at the next start; unless the server is shutting down, which leaves
   * jobs resumable.
   */
  private Behavior<Command> onTerminated(Terminated signal) {
    java.util.Optional<String> jobId = running.entrySet().stream()
        .filter(e -> e.getValue().equals(signal.getRef())).map(Map.Entry::getKey).findFirst();
    running.values().removeIf(ref -> ref.equals(signal.getRef()));
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
    if (!record.events().complete()) {
      record.events().append(tandem.api.v1.TrainingEvent.newBuilder().setJobFinished(
          tandem.api.v1.JobFinished.newBuilder()
              .setState(tandem.api.v1.JobState.JOB_STATE_FAILED).setMessage(message)));
    }
    if (checkpoints != null) {
      try {
        new JobDirectory(checkpoints.jobDir(), record.jobId())
            .markFinished(tandem.api.v1.JobState.JOB_STATE_FAILED.name());
      } catch (java.io.IOException e) {
        getContext().getLog().warn("job {}: cannot mark its directory finished", record.jobId(),
            e);
      }
    }
  }
}
