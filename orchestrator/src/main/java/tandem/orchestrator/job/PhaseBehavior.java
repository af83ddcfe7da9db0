package tandem.orchestrator.job;

import java.util.List;
import java.util.concurrent.CompletionException;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.ReceiveBuilder;
import org.apache.pekko.japi.function.Function;
import tandem.api.v1.JobState;
import tandem.api.v1.ScheduleChange;
import tandem.orchestrator.job.Coordinator.Cancel;
import tandem.orchestrator.job.Coordinator.CheckpointSaved;
import tandem.orchestrator.job.Coordinator.Command;
import tandem.orchestrator.job.Coordinator.TasksAssigned;
import tandem.orchestrator.job.Coordinator.Tick;
import tandem.orchestrator.job.Coordinator.UpdateSchedule;
import tandem.orchestrator.schedule.Schedule;
import tandem.worker.Worker;

/**
 * What every phase of a coordinator accepts: cancel, schedule changes, a checkpoint written, a
 * lost worker, the time limit, a late assignment's timeout, the job manager's ping; and the one
 * place an exception in a handler ends up (the job fails naming it, instead of the actor dying
 * mid-job). Replies of other phases (stale ones) are dropped. A phase's own handlers come first.
 */
abstract class PhaseBehavior extends AbstractBehavior<Command> {

  protected final JobRun run;

  PhaseBehavior(JobRun run) {
    super(run.context);
    this.run = run;
  }

  /** The phase's own handlers, tried before the common ones. */
  protected abstract void handlers(ReceiveBuilder<Command> builder);

  @Override
  public final Receive<Command> createReceive() {
    ReceiveBuilder<Command> builder = newReceiveBuilder();
    handlers(builder);
    return builder
        .onMessage(Cancel.class, safely(this::onCancel))
        .onMessage(UpdateSchedule.class, safely(this::onUpdateSchedule))
        .onMessage(CheckpointSaved.class, safely(this::onCheckpointSaved))
        .onMessage(TasksAssigned.class, safely(this::onTasksAssigned))
        .onMessage(Tick.class, safely(this::onTick))
        .onMessage(Coordinator.Ping.class, ping -> {
          ping.replyTo().tell(org.apache.pekko.Done.getInstance());
          return this;
        })
        .onSignal(Terminated.class, safely(this::onTerminated))
        .onSignal(PostStop.class, signal -> onPostStop())
        .onAnyMessage(message -> this)
        .build();
  }

  /** {@code handler}, with a runtime exception failing the job (cleanly) instead. */
  protected <M> Function<M, Behavior<Command>> safely(Function<M, Behavior<Command>> handler) {
    return message -> {
      try {
        return handler.apply(message);
      } catch (RuntimeException e) {
        return internalError(e);
      }
    };
  }

  private Behavior<Command> internalError(RuntimeException e) {
    run.context.getLog().error("job {}: internal error in its coordinator", run.jobId(), e);
    if (run.published) {
      return Behaviors.stopped();
    }
    return run.fail("internal error in the job's coordinator: " + e);
  }

  protected Behavior<Command> onCancel(Cancel command) {
    Behavior<Command> next = run.finish(JobState.JOB_STATE_CANCELLED, "cancelled by request");
    if (next instanceof FinishingPhase finishing) {
      finishing.replyWhenDone(command.replyTo());
    } else {
      command.replyTo().tell(JobManager.Outcome.ACCEPTED);
    }
    return next;
  }

  protected Behavior<Command> onUpdateSchedule(UpdateSchedule command) {
    List<String> tasks = List.copyOf(run.dataSizes.keySet());
    run.dispatch.schedule(Schedule.create(command.settings(), tasks, run.dataSizes,
        run.scheduleRandom));
    long after = run.dispatch.dispatched();
    run.log.append(JobEvents.scheduleUpdated(after, command.spec()));
    run.scheduleChanges.add(ScheduleChange.newBuilder().setAfterStep(after)
        .setSchedule(command.spec()).build());
    run.context.getLog().info("job {}: schedule now {} after {} steps", run.jobId(),
        command.settings().policy(), after);
    command.replyTo().tell(JobManager.Outcome.ACCEPTED);
    return this;
  }

  /** A checkpoint write ended: logged as written or, visibly, as failed (tried again later). */
  private Behavior<Command> onCheckpointSaved(CheckpointSaved message) {
    run.checkpointWriting = false;
    if (message.error() != null) {
      String reason = reason(message.error());
      run.context.getLog().warn("job {}: checkpoint at step {} could not be written: {}",
          run.jobId(), message.step(), reason);
      run.log.append(JobEvents.checkpointFailed(message.step(), reason));
    } else {
      run.log.append(JobEvents.checkpointWritten(message.step(), message.path(),
          message.pause()));
      run.context.getLog().info("job {}: checkpoint at step {} in {}", run.jobId(),
          message.step(), message.path());
    }
    return afterCheckpointSaved();
  }

  /** Training goes on (or ends) once a checkpoint is on disk. */
  protected Behavior<Command> afterCheckpointSaved() {
    return this;
  }

  /**
   * Tasks taken (ignored past the start) or, after its timeout, not: the job fails, unless that
   * worker was lost meanwhile (its tasks moved on again).
   */
  protected Behavior<Command> onTasksAssigned(TasksAssigned message) {
    if (message.error() == null || !run.placements.names().contains(message.worker())) {
      return this;
    }
    return run.fail(CoordinatorTimeouts.expired(run.timeouts.assign(), "worker '"
        + message.worker() + "' to take its tasks"));
  }

  private Behavior<Command> onTick(Tick tick) {
    return tick == Tick.TIME_LIMIT ? onTimeLimit() : this;
  }

  private Behavior<Command> onTimeLimit() {
    run.context.getLog().info("job {} reached its time limit after {} steps", run.jobId(),
        run.completed);
    run.stopRequested = true;
    return afterTimeLimit();
  }

  protected Behavior<Command> afterTimeLimit() {
    return this;
  }

  private Behavior<Command> onTerminated(Terminated signal) {
    if (signal.getRef().equals(run.sharedParameters)) {
      return run.fail("the shared-parameter actor stopped");
    }
    ActorRef<Worker.Command> worker = signal.getRef().unsafeUpcast();
    if (!run.placements.isLive(worker) || run.shuttingDown()) {
      // The server is shutting down and its workers stop before this coordinator does: not a
      // lost worker. The coordinator's own stop leaves the job resumable.
      return this;
    }
    String name = run.placements.name(worker);
    if (run.placements.size() == 1) {
      return run.fail(name + " stopped while running the job and no other worker of the job"
          + " is left");
    }
    return onWorkerLost(worker, name);
  }

  /**
   * Moves the lost worker's tasks and trains on: whatever waited for it (a checkpoint, the
   * evaluation, the collection) starts over once the steps are drained.
   */
  protected Behavior<Command> onWorkerLost(ActorRef<Worker.Command> worker, String name) {
    run.moveTasksOf(worker);
    return TrainingPhase.resume(run);
  }

  protected Behavior<Command> onPostStop() {
    run.stopped();
    return this;
  }

  /** The message of a failed future, without the wrappers. */
  static String reason(Throwable error) {
    Throwable cause = error;
    while ((cause instanceof CompletionException
        || cause instanceof java.io.UncheckedIOException) && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause.toString();
  }
}
