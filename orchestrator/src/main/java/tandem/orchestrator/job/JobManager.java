package tandem.orchestrator.job;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import tandem.api.v1.JobSpec;
import tandem.api.v1.ScheduleSpec;
import tandem.model.spec.ScheduleSettings;
import tandem.model.spec.TrainingPlan;
import tandem.worker.Worker;

/**
 * Starts jobs and routes commands to their coordinators: gives each submitted job an id, an
 * event log in the {@link JobStore} and a {@link Coordinator} over the workers it may use.
 * Jobs run side by side; one job's failure never touches another's coordinator.
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

  /** Reply to {@link CancelJob} and {@link UpdateSchedule}: whether the job took it. */
  public enum Outcome { ACCEPTED, NOT_RUNNING, UNKNOWN_JOB }

  /** A local worker the manager may place tasks on. */
  public record WorkerHandle(String name, ActorRef<Worker.Command> ref) {}

  /**
   * @param retainedEvents events each job's log keeps for late or slow subscribers
   */
  public static Behavior<Command> create(JobStore store, List<WorkerHandle> workers,
      int retainedEvents) {
    return Behaviors.setup(context -> new JobManager(context, store, workers, retainedEvents));
  }

  private final JobStore store;
  private final List<WorkerHandle> workers;
  private final int retainedEvents;
  private final Map<String, ActorRef<Coordinator.Command>> running = new HashMap<>();
  private long jobsStarted;

  private JobManager(ActorContext<Command> context, JobStore store, List<WorkerHandle> workers,
      int retainedEvents) {
    super(context);
    if (workers.isEmpty()) {
      throw new IllegalArgumentException("expected at least one worker, found none");
    }
    this.store = store;
    this.workers = List.copyOf(workers);
    this.retainedEvents = retainedEvents;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(StartJob.class, this::onStartJob)
        .onMessage(CancelJob.class, this::onCancelJob)
        .onMessage(UpdateSchedule.class, this::onUpdateSchedule)
        .onSignal(Terminated.class, this::onTerminated)
        .build();
  }

  private Behavior<Command> onStartJob(StartJob command) {
    String jobId = String.format("job-%04d", ++jobsStarted);
    JobRecord record = new JobRecord(jobId, command.spec(),
        new EventLog(jobId, command.spec().getName(), retainedEvents, Instant.now()));
    store.add(record);
    int count = command.plan().workers() == 0
        ? workers.size() : Math.min(command.plan().workers(), workers.size());
    // Rotate the starting worker so that concurrent small jobs spread over the cores.
    List<WorkerHandle> chosen = new java.util.ArrayList<>();
    for (int i = 0; i < count; i++) {
      chosen.add(workers.get((int) ((jobsStarted - 1 + i) % workers.size())));
    }
    ActorRef<Coordinator.Command> coordinator = getContext().spawn(
        Coordinator.create(record, command.plan(), chosen.stream().map(WorkerHandle::ref).toList(),
            chosen.stream().map(WorkerHandle::name).toList()),
        jobId);
    getContext().watch(coordinator);
    running.put(jobId, coordinator);
    getContext().getLog().info("job {} ({}) submitted: {} tasks, {} steps", jobId,
        command.spec().getName(), command.plan().graph().tasks().size(),
        command.plan().maxSteps());
    command.replyTo().tell(jobId);
    return this;
  }

  private Behavior<Command> onCancelJob(CancelJob command) {
    runningCoordinator(command.jobId(), command.replyTo())
        .ifPresent(coordinator -> coordinator.tell(new Coordinator.Cancel(command.replyTo())));
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

  private Behavior<Command> onTerminated(Terminated signal) {
    running.values().removeIf(ref -> ref.equals(signal.getRef()));
    return this;
  }
}
