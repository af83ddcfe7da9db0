package tandem.orchestrator.job;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import tandem.api.v1.CheckpointFailed;
import tandem.api.v1.CheckpointWritten;
import tandem.api.v1.Evaluation;
import tandem.api.v1.EvaluationCompleted;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobResumed;
import tandem.api.v1.JobStarted;
import tandem.api.v1.JobState;
import tandem.api.v1.OutputLoss;
import tandem.api.v1.ScheduleSpec;
import tandem.api.v1.ScheduleUpdated;
import tandem.api.v1.StepCompleted;
import tandem.api.v1.TaskPlacement;
import tandem.api.v1.TasksMoved;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.WorkerLost;
import tandem.model.spec.TrainingPlan;
import tandem.worker.Worker;

/** The events a coordinator appends to its job's log, built from its state. Stateless. */
final class JobEvents {

  private JobEvents() {}

  static TrainingEvent.Builder started(TrainingPlan plan, int workers,
      List<TaskPlacement.Builder> placements) {
    JobStarted.Builder started = JobStarted.newBuilder()
        .addAllSharedModules(plan.graph().sharedModules())
        .setMaxSteps(plan.maxSteps())
        .setWorkers(workers)
        .setSchedule(plan.spec().getSchedule().toBuilder().setPolicy(plan.schedule().policy()))
        .setConsistency(plan.consistency().mode());
    placements.forEach(started::addPlacements);
    return TrainingEvent.newBuilder().setJobStarted(started);
  }

  static TrainingEvent.Builder resumed(long fromStep, long fromSequence, String checkpoint,
      List<TaskPlacement.Builder> placements) {
    JobResumed.Builder resumed = JobResumed.newBuilder().setFromStep(fromStep)
        .setFromSequence(fromSequence).setCheckpoint(checkpoint);
    placements.forEach(resumed::addPlacements);
    return TrainingEvent.newBuilder().setJobResumed(resumed);
  }

  static TrainingEvent.Builder stepCompleted(StepDispatch.PendingStep step) {
    Worker.StepDone done = step.done;
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
    return TrainingEvent.newBuilder().setStepCompleted(event);
  }

  static TrainingEvent.Builder scheduleUpdated(long afterStep, ScheduleSpec spec) {
    return TrainingEvent.newBuilder().setScheduleUpdated(ScheduleUpdated.newBuilder()
        .setAfterStep(afterStep).setSchedule(spec));
  }

  static TrainingEvent.Builder workerLost(String worker, List<String> tasks,
      List<Long> inFlight) {
    return TrainingEvent.newBuilder().setWorkerLost(WorkerLost.newBuilder()
        .setWorker(worker).addAllTasks(tasks).addAllStepsInFlight(inFlight));
  }

  static TrainingEvent.Builder tasksMoved(TasksMoved.Builder moved) {
    return TrainingEvent.newBuilder().setTasksMoved(moved);
  }

  static TrainingEvent.Builder checkpointWritten(long step, Path path, Duration pause) {
    return TrainingEvent.newBuilder().setCheckpointWritten(CheckpointWritten.newBuilder()
        .setStep(step).setPath(path.toString()).setPause(proto(pause)));
  }

  static TrainingEvent.Builder checkpointFailed(long step, String reason) {
    return TrainingEvent.newBuilder().setCheckpointFailed(CheckpointFailed.newBuilder()
        .setStep(step).setReason(reason));
  }

  static TrainingEvent.Builder evaluationCompleted(long step, List<Evaluation> evaluations) {
    return TrainingEvent.newBuilder().setEvaluationCompleted(
        EvaluationCompleted.newBuilder().setStep(step).addAllEvaluations(evaluations));
  }

  static TrainingEvent.Builder finished(JobState state, String message, long steps,
      Duration elapsed, long examples) {
    double seconds = elapsed.toNanos() / 1e9;
    return TrainingEvent.newBuilder().setJobFinished(JobFinished.newBuilder()
        .setState(state)
        .setMessage(message)
        .setSteps(steps)
        .setElapsed(proto(elapsed))
        .setExamplesPerSecond(seconds > 0 ? examples / seconds : 0));
  }

  static com.google.protobuf.Duration proto(Duration duration) {
    return com.google.protobuf.Duration.newBuilder().setSeconds(duration.getSeconds())
        .setNanos(duration.getNano()).build();
  }
}
