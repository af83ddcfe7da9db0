package tandem.orchestrator.job;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.model.spec.TrainingPlan;

/**
 * The trained parameters coming back at the end of a job: each live worker's heads and the
 * shared modules from the shared-parameter actor, once each. Plain class, confined to the
 * coordinator.
 */
final class FinalCollection {

  private final TrainingPlan plan;
  private final Set<String> awaitedWorkers;
  private final Map<String, INDArray> trained = new LinkedHashMap<>();
  private boolean trunkIn;

  FinalCollection(TrainingPlan plan, List<String> workers) {
    this.plan = plan;
    this.awaitedWorkers = new HashSet<>(workers);
  }

  void heads(String worker, Map<String, INDArray> heads) {
    if (awaitedWorkers.remove(worker)) {
      trained.putAll(heads);
    }
  }

  void trunk(Map<String, INDArray> shared) {
    trunkIn = true;
    trained.putAll(shared);
  }

  boolean complete() {
    return trunkIn && awaitedWorkers.isEmpty();
  }

  /** A module some task uses that no reply brought, or null if none is missing. */
  String missing() {
    for (String module : plan.graph().modules().keySet()) {
      if (!trained.containsKey(module) && usedByATask(module)) {
        return module;
      }
    }
    return null;
  }

  /** The trained modules, in spec order. */
  Map<String, INDArray> inSpecOrder() {
    Map<String, INDArray> inOrder = new LinkedHashMap<>();
    for (String module : plan.graph().modules().keySet()) {
      if (trained.containsKey(module)) {
        inOrder.put(module, trained.get(module));
      }
    }
    return inOrder;
  }

  private boolean usedByATask(String module) {
    return plan.graph().tasks().stream().anyMatch(t -> t.moduleNames().contains(module));
  }
}
