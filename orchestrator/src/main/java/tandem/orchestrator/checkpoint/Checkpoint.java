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
 * @param events the job's events up to the checkpoint that its log still held (the newest
 *     {@code tandem.orchestrator.retained-events}); in a format 1 or 2 checkpoint read back from
 *     disk, every event of the job up to it
 * @param logState what the job's log had folded from all its events, as of the last of
 *     {@code events} ({@link tandem.orchestrator.job.EventLog#retainedWithState}); null in a
 *     format 1 or 2 checkpoint, whose events are the whole history instead
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
  }

  /** Sequence number of the last event it holds; 0 if none. */
  public long eventSequence() {
    if (logState != null) {
      return logState.getLastSequence();
    }
    return events.isEmpty() ? 0 : events.get(events.size() - 1).getSequence();
  }
}
