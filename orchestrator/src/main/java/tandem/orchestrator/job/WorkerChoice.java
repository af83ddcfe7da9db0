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
   * Where a job's shared-parameter actor runs. In sync mode every worker of the job waits while
   * a round is applied, so the actor can borrow the first worker's thread for free, and that
   * worker then gets each new version without a thread hand-off; in async mode, or when the
   * first worker is on another node, it runs on the default dispatcher.
   */
  static DispatcherSelector parameterDispatcher(TrainingPlan plan,
      List<JobManager.WorkerHandle> chosen) {
    String dispatcher = chosen.get(0).dispatcher();
    return plan.consistency().async() || dispatcher == null
        ? DispatcherSelector.defaultDispatcher() : DispatcherSelector.fromConfig(dispatcher);
  }
}
