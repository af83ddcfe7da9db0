package tandem.orchestrator.job;

import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
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

  /**
   * Where a job's coordinator runs: when {@code onWorkerThread} ({@link
   * RunningJobs#ON_WORKER_THREAD}) and the job's first worker is local, on that
   * worker's thread; otherwise on the default dispatcher. A worker reports its outcomes every
   * few steps and the coordinator answers with the next steps at once: on the default
   * dispatcher each report woke one of its threads, which on a machine whose cores all compute
   * took a core from a worker (bench/run.sh async, 2 workers: 13 context switches of the
   * dispatcher's threads and 14 preemptions of the workers per 100 steps, 6-10 us of the
   * dispatcher's CPU a step). On the worker's thread a report is a task in that thread's queue,
   * run between two of the worker's turns, with no wake-up (0.1 and 3-4 per 100 steps). The
   * price: what blocks that thread blocks the coordinator too, which {@link RunningJobs} checks.
   */
  static Props coordinatorProps(List<JobManager.WorkerHandle> chosen, boolean onWorkerThread) {
    JobManager.WorkerHandle host = coordinatorHost(chosen, onWorkerThread);
    return host == null ? Props.empty() : DispatcherSelector.fromConfig(host.dispatcher());
  }

  /** The worker on whose thread {@link #coordinatorProps} puts the coordinator, or null. */
  static JobManager.WorkerHandle coordinatorHost(List<JobManager.WorkerHandle> chosen,
      boolean onWorkerThread) {
    JobManager.WorkerHandle first = chosen.get(0);
    return onWorkerThread && first.dispatcher() != null ? first : null;
  }
}
