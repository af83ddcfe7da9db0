package tandem.orchestrator.job;

import java.time.Duration;
import java.util.HashSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ReceiveBuilder;
import tandem.orchestrator.checkpoint.Checkpoint;
import tandem.orchestrator.job.Coordinator.CheckpointSaved;
import tandem.orchestrator.job.Coordinator.Command;
import tandem.orchestrator.job.Coordinator.SharedStateCollected;
import tandem.orchestrator.job.Coordinator.TaskStateCollected;
import tandem.worker.Worker;

/**
 * A checkpoint, with nothing in flight: asks every worker for its tasks' state (heads, optimizer
 * states, batch positions) and the shared-parameter actor for the shared modules' state, each
 * within {@code checkpoint-collect-timeout}; keeps the result in memory (a lost worker's heads
 * come back from it) and hands it to the job directory's writer, then trains on while it is
 * written. A reply that does not come fails the job naming it; a worker lost meanwhile has its
 * tasks moved and the checkpoint is taken again once the steps are drained.
 */
final class CheckpointingPhase extends PhaseBehavior {

  private final long round;
  private final CheckpointAssembly assembly;

  private CheckpointingPhase(JobRun run, long round, CheckpointAssembly assembly) {
    super(run);
    this.round = round;
    this.assembly = assembly;
  }

  static Behavior<Command> start(JobRun run) {
    run.checkpointDue = false;
    long round = run.nextRound();
    Duration timeout = run.timeouts.checkpointCollect();
    for (ActorRef<Worker.Command> worker : run.placements.workers()) {
      String name = run.placements.name(worker);
      run.context.ask(Worker.TaskState.class, worker, timeout,
          replyTo -> new Worker.GetTaskState(run.jobId(), replyTo),
          (state, failure) -> new TaskStateCollected(round, name, state, failure));
    }
    run.context.ask(SharedParameters.State.class, run.sharedParameters, timeout,
        SharedParameters.GetState::new,
        (state, failure) -> new SharedStateCollected(round, state, failure));
    return new CheckpointingPhase(run, round, new CheckpointAssembly(
        new HashSet<>(run.placements.names()), System.nanoTime()));
  }

  @Override
  protected void handlers(ReceiveBuilder<Command> builder) {
    builder.onMessage(TaskStateCollected.class, safely(this::onTaskState))
        .onMessage(SharedStateCollected.class, safely(this::onSharedState));
  }

  private Behavior<Command> onTaskState(TaskStateCollected message) {
    if (message.round() != round) {
      return this;
    }
    if (message.error() != null) {
      return run.fail(CoordinatorTimeouts.expired(run.timeouts.checkpointCollect(),
          "the task state of worker '" + message.worker() + "' for the checkpoint at step "
              + run.completed));
    }
    assembly.add(message.state());
    return collected();
  }

  private Behavior<Command> onSharedState(SharedStateCollected message) {
    if (message.round() != round) {
      return this;
    }
    if (message.error() != null) {
      return run.fail(CoordinatorTimeouts.expired(run.timeouts.checkpointCollect(),
          "the shared modules' state from the shared-parameter actor for the checkpoint at"
              + " step " + run.completed));
    }
    assembly.add(message.state());
    return collected();
  }

  /** Once every part is in: keep it, hand it to the writer, and go on training. */
  private Behavior<Command> collected() {
    if (!assembly.complete()) {
      return this;
    }
    Checkpoint checkpoint = assembly.build(run.jobId(), run.plan.spec(), run.completed,
        run.examples, run.scheduleChanges, run.log.retainedWithState(run.checkpoints.events()));
    run.latest = checkpoint;
    long pauseStarted = assembly.startedAtNanos();
    run.checkpoints.taken(run.completed, System.nanoTime());
    run.checkpointWriting = true;
    Duration timeout = run.timeouts.checkpointWrite();
    run.context.pipeToSelf(withTimeout(run.writer.write(checkpoint), timeout,
            "the job directory's writer to write it"),
        (path, error) -> new CheckpointSaved(checkpoint.step(), path,
            Duration.ofNanos(System.nanoTime() - pauseStarted), error));
    return TrainingPhase.resume(run);
  }

  /** {@code future}, failing after {@code timeout} with a message naming {@code what}. */
  static <T> CompletableFuture<T> withTimeout(CompletableFuture<T> future, Duration timeout,
      String what) {
    return future.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).exceptionallyCompose(
        error -> CompletableFuture.failedFuture(unwrap(error) instanceof TimeoutException
            ? new TimeoutException(CoordinatorTimeouts.expired(timeout, what)) : unwrap(error)));
  }

  private static Throwable unwrap(Throwable error) {
    return error instanceof CompletionException && error.getCause() != null
        ? error.getCause() : error;
  }

  @Override
  protected Behavior<Command> onWorkerLost(ActorRef<Worker.Command> worker, String name) {
    // Its part of the checkpoint will not come: take the checkpoint again once drained.
    run.moveTasksOf(worker);
    run.checkpointDue = true;
    return TrainingPhase.resume(run);
  }
}
