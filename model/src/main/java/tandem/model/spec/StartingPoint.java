package tandem.model.spec;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Where a job's training starts: from its seed (a new model), or from a trained model's
 * parameters, as when a task is added to a trained model. Modules in {@code frozenModules} keep
 * their starting values: neither the workers (heads) nor the shared-parameter actor (shared
 * modules) update them. Immutable by contract: the parameter buffers are never written.
 *
 * @param parameters starting values by module name; modules absent here start from the seed
 * @param frozenModules modules never updated
 * @param trunkPull strength lambda of an L2 pull of each trained shared module that has a
 *     starting value towards it: lambda/2 * ||theta - theta_start||^2 is added to every step's
 *     loss (0: none)
 * @param baseline each task's output metrics with the starting parameters (task, then output),
 *     for the forgetting report; empty for new models
 */
public record StartingPoint(Map<String, INDArray> parameters, Set<String> frozenModules,
    double trunkPull, Map<String, Map<String, Double>> baseline) {

  /** A new model: every module from the seed, nothing frozen. */
  public static final StartingPoint FROM_SEED = new StartingPoint(Map.of(), Set.of(), 0, Map.of());

  public StartingPoint {
    parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
    frozenModules = Set.copyOf(frozenModules);
    baseline = Collections.unmodifiableMap(new LinkedHashMap<>(baseline));
    if (!(trunkPull >= 0) || Double.isInfinite(trunkPull)) {
      throw new IllegalArgumentException("expected a finite trunk pull >= 0, found " + trunkPull);
    }
  }
}
