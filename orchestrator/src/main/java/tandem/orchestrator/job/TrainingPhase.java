package tandem.orchestrator.job;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ReceiveBuilder;
import tandem.orchestrator.job.Coordinator.Command;
import tandem.orchestrator.job.Coordinator.FromParameters;
import tandem.orchestrator.job.Coordinator.FromWorker;
import tandem.orchestrator.job.Coordinator.Tick;
import tandem.worker.Worker;

/**
 * Training: steps go out as the {@link StepDispatch} allows and complete once both their outcome
 * and their gradient's application are in. Stops dispatching when a checkpoint is due or
 * training is over, and moves on to checkpointing or evaluating once nothing is in flight. A
 * step out with no progress for {@code step-timeout} (its outcome or its application never
 * comes) fails the job naming the step, its task and its worker.
 */
final class TrainingPhase extends PhaseBehavior {

  private TrainingPhase(JobRun run) {
    super(run);
    run.progressNanos = System.nanoTime();
    if (!run.timers.isTimerActive(Tick.CHECK_STEPS)) {
      Duration every = run.timeouts.step().dividedBy(4);
      run.timers.startTimerWithFixedDelay(Tick.CHECK_STEPS,
          every.compareTo(Duration.ofMillis(10)) < 0 ? Duration.ofMillis(10) : every);
    }
  }

  /** Training (again): dispatches what it may, or moves on. */
  static Behavior<Command> resume(JobRun run) {
    return new TrainingPhase(run).advance();
  }

  @Override
  protected void handlers(ReceiveBuilder<Command> builder) {
    builder.onMessage(FromWorker.class, safely(this::onFromWorker))
        .onMessage(FromParameters.class, safely(this::onFromParameters))
        .onMessageEquals(Tick.CHECK_STEPS, this::onCheckSteps);
  }

  private Behavior<Command> onFromWorker(FromWorker message) {
    if (message.outcome() instanceof Worker.StepFailed failed) {
      return run.fail("step " + failed.step() + " of task '" + failed.task() + "' failed on "
          + failed.worker() + ": " + failed.reason());
    }
    if (message.outcome() instanceof Worker.StepsDone batch) {
      // Every step of the batch first, then one dispatch for the credits they gave back.
      batch.steps().forEach(this::onStepDone);
    } else {
      onStepDone((Worker.StepDone) message.outcome());
    }
    return advance();
  }

  private void onStepDone(Worker.StepDone done) {
    StepDispatch.PendingStep step = run.dispatch.outcome(done);
    if (step != null) {
      run.progressNanos = System.nanoTime();
      if (done.applied() != null) {
        // Applied in place by the worker (DirectTrunk): the outcome says so itself.
        run.dispatch.appliedInPlace(done.step(), done.applied().version(),
            done.applied().staleness(), done.applied().dropped());
      }
      run.completeIfReady(done.step(), step);
    }
  }

  private Behavior<Command> onFromParameters(FromParameters message) {
    List<SharedParameters.VersionApplied> reports;
    if (message.report() instanceof SharedParameters.VersionApplied applied) {
      reports = List.of(applied);
    } else if (message.report() instanceof SharedParameters.VersionsApplied applied) {
      reports = applied.reports();
    } else {
      return this;
    }
    run.progressNanos = System.nanoTime();
    for (SharedParameters.VersionApplied applied : reports) {
      run.dispatch.applied(applied).forEach(run::completeIfReady);
    }
    return advance();
  }

  /** Dispatches what credits and the round allow, or moves on once nothing is in flight. */
  Behavior<Command> advance() {
    if (!run.trainingOver() && !run.checkpointWriting
        && run.checkpoints.due(run.completed, System.nanoTime())) {
      run.checkpointDue = true;
    }
    if (!run.checkpointDue && !run.stopRequested) {
      run.dispatch.dispatch();
    }
    if (!run.dispatch.idle()) {
      return this;
    }
    boolean over = run.trainingOver();
    if (run.checkpointDue || over && run.checkpoints.finalDue(run.completed)) {
      // One checkpoint at a time: the next waits for the write of the previous one.
      return run.checkpointWriting ? this : CheckpointingPhase.start(run);
    }
    if (over && !run.checkpointWriting) {
      // After the final checkpoint is on disk (and in the log), not while it is written.
      return EvaluatingPhase.start(run);
    }
    return this;
  }

  @Override
  protected Behavior<Command> afterCheckpointSaved() {
    return advance();
  }

  @Override
  protected Behavior<Command> afterTimeLimit() {
    return advance();
  }

  /** The step watchdog: the oldest step out has made no progress for too long. */
  private Behavior<Command> onCheckSteps() {
    Map.Entry<Long, StepDispatch.PendingStep> oldest = run.dispatch.oldest();
    long now = System.nanoTime();
    if (oldest == null) {
      run.progressNanos = now;
      return this;
    }
    if (now - run.progressNanos < run.timeouts.step().toNanos()) {
      return this;
    }
    StepDispatch.PendingStep step = oldest.getValue();
    String of = "step " + oldest.getKey() + " of task '" + step.task + "'";
    String what = step.done == null
        ? "the outcome of " + of + " from worker '" + run.placements.ownerName(step.task) + "'"
        : "the shared-parameter actor to apply the gradient of " + of + " (trunk version "
            + step.version + (run.plan.consistency().async() ? ")"
                : "; a sync round applies once every gradient of the round is in)");
    return run.fail(CoordinatorTimeouts.expired(run.timeouts.step(), what));
  }
}
