package tandem.orchestrator.job;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.api.v1.JobSpec;
import tandem.api.v1.ScheduleChange;
import tandem.api.v1.TrainingEvent;
import tandem.orchestrator.checkpoint.Checkpoint;
import tandem.worker.OptimizerSnapshot;
import tandem.worker.Worker;

/**
 * One checkpoint being put together from the replies of the job's workers (heads, head
 * optimizer states, batch positions) and of its shared-parameter actor (shared modules and
 * their optimizer states). Plain class, confined to the coordinator.
 */
final class CheckpointAssembly {

  private final Set<String> awaitedWorkers;
  private final long startedAtNanos;
  private final Map<String, INDArray> parameters = new LinkedHashMap<>();
  private final Map<String, OptimizerSnapshot> headOptimizers = new LinkedHashMap<>();
  private final Map<String, Long> batchesDrawn = new LinkedHashMap<>();
  private SharedParameters.State shared;

  CheckpointAssembly(Set<String> workers, long startedAtNanos) {
    this.awaitedWorkers = new HashSet<>(workers);
    this.startedAtNanos = startedAtNanos;
  }

  void add(Worker.TaskState state) {
    if (awaitedWorkers.remove(state.worker())) {
      parameters.putAll(state.heads());
      headOptimizers.putAll(state.optimizers());
      batchesDrawn.putAll(state.batchesDrawn());
    }
  }

  void add(SharedParameters.State state) {
    shared = state;
  }

  /** A worker stopped: its reply will not come, so this checkpoint cannot be complete. */
  boolean waitsFor(String worker) {
    return awaitedWorkers.contains(worker);
  }

  boolean complete() {
    return awaitedWorkers.isEmpty() && shared != null;
  }

  long startedAtNanos() {
    return startedAtNanos;
  }

  Checkpoint build(String jobId, JobSpec spec, long step, long examples,
      List<ScheduleChange> scheduleChanges, EventLog.Retained log) {
    Map<String, INDArray> all = new LinkedHashMap<>(shared.parameters());
    all.putAll(parameters);
    return new Checkpoint(jobId, spec, step, shared.version(), examples, all, shared.optimizers(),
        headOptimizers, batchesDrawn, scheduleChanges, log.events(), log.state());
  }
}
