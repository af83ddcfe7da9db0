package tandem.orchestrator.job;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.model.kernel.InPlace;
import tandem.model.optim.OptimizerState;
import tandem.model.spec.ConsistencySettings;
import tandem.model.spec.TrainingPlan;
import tandem.model.train.Seeds;
import tandem.orchestrator.aggregation.Aggregation;
import tandem.orchestrator.aggregation.StepGradient;
import tandem.worker.OptimizerSnapshot;
import tandem.worker.TrunkSnapshot;
import tandem.worker.Worker;

/**
 * The master copy of a job's shared modules with their optimizer states (one per module, or one
 * per module and task): applies gradients, after the job's {@link StaleGradientPolicy} and
 * {@link Aggregation}, one optimizer step per (module, state), and builds each new version in
 * arrays nobody reads ({@link VersionArrays}), so published versions are never written.
 *
 * <p>Plain class with the heavy work of the shared-parameter actor (in async mode the whole
 * trunk's optimizer step per gradient). Not thread-safe: the actor hands it to one thread at a
 * time, and a hand-off through a future orders its writes before the actor's next read.
 */
final class MasterCopy {

  /**
   * What one {@link #apply} did: the version now current (the same one when every gradient was
   * dropped) and each step's staleness and drop.
   */
  record Applied(TrunkSnapshot version, List<SharedParameters.AppliedStep> steps) {}

  private final TrainingPlan plan;
  private final ConsistencySettings consistency;
  private final StaleGradientPolicy stalePolicy;
  private final Aggregation aggregation;
  private final Map<OptimizerKey, OptimizerState> optimizers = new LinkedHashMap<>();
  private final VersionArrays arrays;
  private TrunkSnapshot current;

  /** {@code optimizers}: saved states by {@link OptimizerKey#encoded()} (a resumed job). */
  MasterCopy(TrainingPlan plan, TrunkSnapshot start, Map<String, OptimizerSnapshot> optimizers) {
    this.plan = plan;
    this.consistency = plan.consistency();
    this.stalePolicy = StaleGradientPolicy.of(consistency.staleGradients());
    this.aggregation = Aggregation.create(plan.aggregation(), plan.optimizer(),
        Seeds.derive(plan.seed(), "aggregation"));
    this.arrays = new VersionArrays(consistency.async(), start);
    this.current = start;
    optimizers.forEach((key, snapshot) -> optimizer(OptimizerKey.decode(key))
        .restoreInPlace(snapshot.iteration(), snapshot.state()));
  }

  TrunkSnapshot current() {
    return current;
  }

  /**
   * Applies gradients computed on the current or older versions as one update: each one's
   * staleness against the current version decides, by the policy, whether it is dropped or
   * scaled (in place: the caller hands the arrays over). {@code unreadBelow}: no worker reads a
   * version older than this one any more.
   */
  Applied apply(List<Worker.SharedGradients> gradients, long unreadBelow) {
    long version = current.version();
    List<StepGradient> kept = new ArrayList<>();
    List<SharedParameters.AppliedStep> handled = new ArrayList<>();
    for (Worker.SharedGradients step : gradients) {
      if (!policed(step, version, handled)) {
        continue;
      }
      kept.add(new StepGradient(step.task(), step.step(), step.loss(), step.gradients()));
    }
    if (!kept.isEmpty()) {
      update(aggregation.combine(kept, version), unreadBelow);
    }
    return new Applied(current, handled);
  }

  /**
   * Applies async steps' gradients each as its own update, in order, as {@link #apply} would one
   * by one (each one's staleness against the version before it, one version per step kept), but
   * with one pass of each module's optimizer over all of them ({@link
   * OptimizerState#applyAllInto}) and only the last of those versions built: the others are
   * never read. With one optimizer state per module and task, updates of one module by
   * different tasks' states would change order, so those go one by one.
   */
  Applied applyEach(List<Worker.SharedGradients> gradients, long unreadBelow) {
    if (gradients.size() == 1 || plan.optimizer().perTaskSharedState()) {
      List<SharedParameters.AppliedStep> handled = new ArrayList<>();
      for (Worker.SharedGradients step : gradients) {
        handled.addAll(apply(List.of(step), unreadBelow).steps());
      }
      return new Applied(current, handled);
    }
    long version = current.version();
    Map<String, List<INDArray>> byModule = new LinkedHashMap<>();
    List<SharedParameters.AppliedStep> handled = new ArrayList<>();
    for (Worker.SharedGradients step : gradients) {
      if (!policed(step, version, handled)) {
        continue;
      }
      tasksAdded(aggregation.combine(List.of(new StepGradient(step.task(), step.step(),
          step.loss(), step.gradients())), version)).forEach((module, gradient) ->
          byModule.computeIfAbsent(module, m -> new ArrayList<>()).add(gradient));
      version++;
    }
    if (version == current.version()) {
      return new Applied(current, handled);
    }
    Map<String, INDArray> next = new LinkedHashMap<>(current.parameters());
    byModule.forEach((module, moduleGradients) -> {
      INDArray parameters = parameters(module);
      INDArray target = arrays.writable(module, parameters, unreadBelow);
      optimizer(new OptimizerKey(module, null)).applyAllInto(parameters, target, moduleGradients);
      next.put(module, target);
      arrays.replaced(module, current.version(), parameters);
    });
    current = new TrunkSnapshot(version, next);
    return new Applied(current, handled);
  }

  /** Copies of the current parameters. */
  Map<String, INDArray> copyOfParameters() {
    Map<String, INDArray> copy = new LinkedHashMap<>();
    current.parameters().forEach((module, parameters) -> copy.put(module, parameters.dup()));
    return copy;
  }

  /** Copies of every optimizer state, by {@link OptimizerKey#encoded()}. */
  Map<String, OptimizerSnapshot> copyOfOptimizers() {
    Map<String, OptimizerSnapshot> states = new LinkedHashMap<>();
    optimizers.forEach((key, optimizer) -> states.put(key.encoded(),
        new OptimizerSnapshot(optimizer.iteration(), optimizer.copyOfState())));
    return states;
  }

  /** Builds the next version in arrays nobody reads: one optimizer step per (module, state). */
  private void update(Map<String, Map<String, INDArray>> byTask, long unreadBelow) {
    Map<String, INDArray> fresh = new HashMap<>();
    // Frozen modules (a task added to a trained model) keep their values; workers do not even
    // send their gradients, this is the backstop.
    Set<String> frozen = plan.frozenModules();
    if (plan.optimizer().perTaskSharedState()) {
      byTask.forEach((task, gradients) -> gradients.forEach((module, gradient) -> {
        if (!frozen.contains(module)) {
          step(new OptimizerKey(module, task), fresh, gradient, unreadBelow);
        }
      }));
    } else {
      tasksAdded(byTask).forEach((module, gradient) ->
          step(new OptimizerKey(module, null), fresh, gradient, unreadBelow));
    }
    Map<String, INDArray> next = new LinkedHashMap<>(current.parameters());
    next.putAll(fresh);
    fresh.keySet().forEach(module ->
        arrays.replaced(module, current.version(), current.parameters().get(module)));
    current = new TrunkSnapshot(current.version() + 1, next);
  }

  private void step(OptimizerKey key, Map<String, INDArray> fresh, INDArray gradient,
      long unreadBelow) {
    INDArray parameters = parameters(key.module());
    INDArray next = fresh.get(key.module());
    if (next == null) {
      // The first update of this module in this version: straight from the current values into
      // an array nobody reads (no copy of the old version first).
      next = arrays.writable(key.module(), parameters, unreadBelow);
      fresh.put(key.module(), next);
      optimizer(key).applyInto(parameters, next, gradient);
    } else {
      optimizer(key).applyInPlace(next, gradient);
    }
  }

  /**
   * The stale-gradient policy on {@code step}, whose update would follow {@code version}: what
   * it does goes to {@code handled}; false if the step is dropped, else its gradients are scaled
   * in place as the policy says.
   */
  private boolean policed(Worker.SharedGradients step, long version,
      List<SharedParameters.AppliedStep> handled) {
    long staleness = version - step.trunkVersion();
    double factor = stalePolicy.factor(staleness, consistency.dropStaleness());
    handled.add(new SharedParameters.AppliedStep(step.step(), staleness, factor == 0));
    if (factor != 0 && factor != 1) {
      step.gradients().values().forEach(g -> InPlace.multiply(g, factor));
    }
    return factor != 0;
  }

  /**
   * Per module, the tasks' gradients of {@code byTask} added (into the first one's array), the
   * frozen modules left out: one update per module with one optimizer state per module.
   */
  private Map<String, INDArray> tasksAdded(Map<String, Map<String, INDArray>> byTask) {
    Set<String> frozen = plan.frozenModules();
    Map<String, INDArray> combined = new LinkedHashMap<>();
    byTask.values().forEach(gradients -> gradients.forEach((module, gradient) -> {
      if (!frozen.contains(module)) {
        combined.merge(module, gradient, (sum, term) -> {
          InPlace.add(sum, term);
          return sum;
        });
      }
    }));
    return combined;
  }

  /** The current parameters of shared module {@code module}. */
  private INDArray parameters(String module) {
    INDArray parameters = current.parameters().get(module);
    if (parameters == null) {
      throw new IllegalStateException("a gradient for module '" + module
          + "', which is not a shared module of the job");
    }
    return parameters;
  }

  /** The state of a shared module's updates, made on first use. */
  private OptimizerState optimizer(OptimizerKey key) {
    return optimizers.computeIfAbsent(key, k -> {
      INDArray parameters = current.parameters().get(k.module());
      return OptimizerState.forModule(
          k.task() == null ? plan.optimizer() : plan.optimizerFor(k.task()),
          plan.graph().modules().get(k.module()), parameters.length(), parameters.dataType());
    });
  }
}
