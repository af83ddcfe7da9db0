package tandem.bench.async;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.model.data.Batch;
import tandem.model.data.BatchSampler;
import tandem.model.data.DataSet;
import tandem.model.optim.OptimizerState;
import tandem.model.spec.TaskGraph;
import tandem.model.spec.TrainingPlan;
import tandem.model.train.ModelParameters;
import tandem.model.train.SequentialTraining;
import tandem.model.train.TaskProgram;

/**
 * Two training loops on two threads, one task each, that share the plan's shared modules (the
 * trunk) and their optimizer state, as two async workers do, and nothing else: no actors, no
 * messages, no versions. Each loop runs its task's steps as the bare loop does, updates its own
 * heads, and applies its trunk gradients {@code together} steps at a time under one lock (in one
 * pass of the optimizer, as a worker with a direct trunk does), straight into the shared arrays
 * that the other loop reads meanwhile (Hogwild-style; these figures are not about the math).
 *
 * <p>What this measures: the cost of sharing the trunk between the two cores alone. Two
 * independent bare loops (the async bench's ceiling) share nothing; async training cannot avoid
 * this sharing, so the ratio of this figure to that ceiling is what any implementation of async
 * workers on one trunk can reach on this machine at this moment.
 */
final class SharedTrunkLoops {

  private SharedTrunkLoops() {}

  /** Examples/s of the two loops together, each running {@code steps} steps of its task. */
  static double examplesPerSecond(TrainingPlan plan, long steps, int together)
      throws InterruptedException {
    return examplesPerSecond(plan, steps, together, 0);
  }

  /**
   * As above; with {@code versions} of at least 2, each update writes a new version into the
   * next of that many arrays per module, in turn, and each step reads the newest one, as a
   * job's master copy keeps versions (without its checks of who still reads what).
   */
  static double examplesPerSecond(TrainingPlan plan, long steps, int together, int versions)
      throws InterruptedException {
    List<TaskGraph> tasks = plan.graph().tasks();
    if (tasks.size() != 2) {
      throw new IllegalArgumentException("expected a plan of two tasks, found " + tasks.size());
    }
    Map<String, INDArray> shared = new HashMap<>();
    Map<String, OptimizerState> sharedOptimizers = new HashMap<>();
    Map<String, INDArray> starting = ModelParameters.starting(plan, DataType.FLOAT);
    for (String module : plan.graph().sharedModules()) {
      shared.put(module, starting.get(module));
      sharedOptimizers.put(module, OptimizerState.forModule(plan.optimizer(),
          plan.graph().modules().get(module), starting.get(module).length(), DataType.FLOAT));
    }
    ReentrantLock lock = new ReentrantLock();
    Versions ring = versions >= 2 ? new Versions(shared, versions) : null;
    long[] examples = new long[2];
    Thread[] loops = new Thread[2];
    for (int t = 0; t < 2; t++) {
      TaskGraph task = tasks.get(t);
      int me = t;
      loops[t] = new Thread(() -> examples[me] = run(plan, task, shared, sharedOptimizers, lock,
          steps, together, ring), "shared-trunk-" + t);
    }
    long start = System.nanoTime();
    for (Thread loop : loops) {
      loop.start();
    }
    for (Thread loop : loops) {
      loop.join();
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    return (examples[0] + examples[1]) / seconds;
  }

  private static long run(TrainingPlan plan, TaskGraph task, Map<String, INDArray> shared,
      Map<String, OptimizerState> sharedOptimizers, ReentrantLock lock, long steps,
      int together, Versions ring) {
    Map<String, INDArray> parameters = ModelParameters.starting(plan, DataType.FLOAT);
    parameters.putAll(shared);
    Map<String, INDArray> gradients = ModelParameters.zerosLike(parameters);
    TaskProgram program = new TaskProgram(task, DataType.FLOAT);
    DataSet data = plan.trainingData().get(task.name());
    BatchSampler sampler = SequentialTraining.samplerFor(plan, task);
    Batch batch = data.newBatch(sampler.batchSize());
    Map<String, OptimizerState> heads = new HashMap<>();
    Map<String, List<INDArray>> held = new HashMap<>();
    for (String module : program.moduleNames()) {
      if (shared.containsKey(module)) {
        List<INDArray> buffers = new ArrayList<>();
        for (int i = 0; i < together; i++) {
          buffers.add(gradients.get(module).ulike());
        }
        held.put(module, buffers);
      } else {
        heads.put(module, OptimizerState.forModule(plan.optimizerFor(task.name()),
            plan.graph().modules().get(module), parameters.get(module).length(),
            DataType.FLOAT));
      }
    }
    long examples = 0;
    int heldSteps = 0;
    for (long step = 0; step < steps; step++) {
      data.fill(sampler.next(), batch);
      if (ring != null) {
        parameters.putAll(ring.newest);
      }
      for (Map.Entry<String, List<INDArray>> module : held.entrySet()) {
        // The step writes its trunk gradients straight into the buffer they wait in.
        gradients.put(module.getKey(), module.getValue().get(heldSteps));
      }
      examples += program.computeGradients(parameters, batch, gradients).examples();
      for (Map.Entry<String, OptimizerState> head : heads.entrySet()) {
        head.getValue().applyInPlace(parameters.get(head.getKey()), gradients.get(head.getKey()));
      }
      if (++heldSteps == together) {
        lock.lock();
        try {
          if (ring == null) {
            held.forEach((module, buffers) -> sharedOptimizers.get(module)
                .applyAllInto(shared.get(module), shared.get(module), buffers));
          } else {
            ring.update(held, sharedOptimizers);
          }
        } finally {
          lock.unlock();
        }
        heldSteps = 0;
      }
    }
    return examples;
  }

  /** Versions written in turn into a ring of arrays per module; updates under the lock. */
  private static final class Versions {
    private final Map<String, INDArray[]> arrays = new HashMap<>();
    private int next;
    volatile Map<String, INDArray> newest;

    Versions(Map<String, INDArray> start, int count) {
      start.forEach((module, array) -> {
        INDArray[] ring = new INDArray[count];
        ring[0] = array;
        for (int i = 1; i < count; i++) {
          ring[i] = array.dup();
        }
        arrays.put(module, ring);
      });
      newest = Map.copyOf(start);
    }

    void update(Map<String, List<INDArray>> held, Map<String, OptimizerState> optimizers) {
      next = (next + 1) % arrays.values().iterator().next().length;
      Map<String, INDArray> written = new HashMap<>();
      held.forEach((module, buffers) -> {
        INDArray target = arrays.get(module)[next];
        optimizers.get(module).applyAllInto(newest.get(module), target, buffers);
        written.put(module, target);
      });
      newest = Map.copyOf(written);
    }
  }
}
