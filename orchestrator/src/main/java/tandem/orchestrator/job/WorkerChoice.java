package tandem.orchestrator.job;

import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.DispatcherSelector;
import tandem.model.spec.TrainingPlan;

/**
 * Which workers the job manager gives a new coordinator, and where that job's shared-parameter
 * actor runs. Static methods only.
 */
final class WorkerChoice {

  private WorkerChoice() {}

  /**
   * The plan's worker count (0: all) of {@code workers}, starting at the {@code rotation}-th, so
   * that concurrent small jobs spread over the cores.
   */
  static List<JobManager.WorkerHandle> choose(TrainingPlan plan,
      List<JobManager.WorkerHandle> workers, long rotation) {
    int count = plan.workers() == 0 ? workers.size() : Math.min(plan.workers(), workers.size());
    List<JobManager.WorkerHandle> chosen = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      chosen.add(workers.get((int) ((rotation + i) % workers.size())));
    }
    return chosen;
  }

  /**
   * Where a job's shared-parameter actor runs: on the first worker's thread when that worker is
   * local. In sync mode every worker of the job waits while a round is applied, so the actor
   * borrows that thread for free, and the worker then gets each new version without a thread
   * hand-off. In async mode with every worker local, the workers update the shared modules
   * themselves ({@link tandem.worker.DirectTrunk}) and the actor only answers state requests;
   * with some worker remote, it applies each arriving gradient there. When the first worker is
   * on another node: sync jobs' actors run on the default dispatcher and apply on the update
   * pool; async jobs' actors run on the update pool itself ({@link
   * SharedParameters#UPDATE_DISPATCHER}) and apply in place (a hop from the default dispatcher
   * to the pool and back cost two thread wake-ups per step: bench/run.sh async, 2 workers,
   * 221,000 examples/s with the hops, 268,000 without).
   */
  static DispatcherSelector parameterDispatcher(TrainingPlan plan,
      List<JobManager.WorkerHandle> chosen) {
    String dispatcher = chosen.get(0).dispatcher();
    if (plan.consistency().async() && dispatcher == null) {
      return DispatcherSelector.fromConfig(SharedParameters.UPDATE_DISPATCHER);
    }
    return dispatcher == null
        ? DispatcherSelector.defaultDispatcher() : DispatcherSelector.fromConfig(dispatcher);
  }
}
