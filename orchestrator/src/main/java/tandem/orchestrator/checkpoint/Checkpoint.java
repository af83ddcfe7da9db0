package tandem.orchestrator.checkpoint;

import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.api.v1.JobSpec;
import tandem.api.v1.ScheduleChange;
import tandem.api.v1.TrainingEvent;
import tandem.worker.OptimizerSnapshot;

/**
 * Everything a job needs to go on from a step as if it had never stopped: taken when no step is
 * in flight. Immutable by contract (the arrays are copies nobody writes).
 *
 * @param step steps completed (and dispatched)
 * @param parameters every module's parameters, shared modules and heads
 * @param sharedOptimizers shared modules' optimizer states by
 *     {@link tandem.orchestrator.job.SharedParameters#optimizerKey(String, String)}
 * @param headOptimizers heads' optimizer states by module
 * @param batchesDrawn per task, batches its sampler handed out
 * @param scheduleChanges the schedule at start (after step 0) and every later change
 * @param events the newest of the job's events up to the checkpoint
 *     ({@code tandem.orchestrator.checkpoint.events}; a format 1 or 2 checkpoint's whole history
 *     is folded down to these as it is read)
 * @param logState what the job's log had folded from all its events, as of the last one
 *     ({@link tandem.orchestrator.job.EventLog#retainedWithState})
 */
public record Checkpoint(
    String jobId,
    JobSpec spec,
    long step,
    long trunkVersion,
    long examples,
    Map<String, INDArray> parameters,
    Map<String, OptimizerSnapshot> sharedOptimizers,
    Map<String, OptimizerSnapshot> headOptimizers,
    Map<String, Long> batchesDrawn,
    List<ScheduleChange> scheduleChanges,
    List<TrainingEvent> events,
    tandem.api.v1.EventLogState logState) {

  public Checkpoint {
    parameters = Map.copyOf(parameters);
    sharedOptimizers = Map.copyOf(sharedOptimizers);
    headOptimizers = Map.copyOf(headOptimizers);
    batchesDrawn = Map.copyOf(batchesDrawn);
    scheduleChanges = List.copyOf(scheduleChanges);
    events = List.copyOf(events);
    java.util.Objects.requireNonNull(logState, "logState");
  }

  /** Sequence number of the job's last event at the checkpoint; 0 if none. */
  public long eventSequence() {
    return logState.getLastSequence();
  }
}
