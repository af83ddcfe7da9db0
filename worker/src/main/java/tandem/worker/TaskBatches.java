package tandem.worker;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tandem.model.data.Batch;
import tandem.model.data.BatchSampler;
import tandem.model.data.DataSet;
import tandem.model.spec.TaskGraph;
import tandem.model.spec.TrainingPlan;
import tandem.model.train.SequentialTraining;

/**
 * The batch loaders of one job's tasks on a worker: each task's sampler over its training data
 * (the same order as sequential training), one batch buffer per task, and the next batch
 * gathered ahead while a step waits for its trunk version. Plain class, confined to the worker
 * actor.
 */
final class TaskBatches {

  /** A batch with its index in the task's batch order. */
  record Next(long index, Batch batch) {}

  private final TrainingPlan plan;
  private final Map<String, BatchSampler> samplers = new LinkedHashMap<>();
  /** Per task, its next batch already gathered while the step waited for a trunk version. */
  private final Map<String, Next> prefetched = new HashMap<>();
  private final Map<String, Batch> buffers = new HashMap<>();

  TaskBatches(TrainingPlan plan) {
    this.plan = plan;
  }

  void add(String task, TaskGraph graph) {
    samplers.put(task, SequentialTraining.samplerFor(plan, graph));
  }

  /** {@code task}'s next batch: the one gathered ahead, or gathered now. */
  Next next(String task) {
    Next next = prefetched.remove(task);
    return next != null ? next : gather(task);
  }

  /**
   * Gathers {@code task}'s next batch now, while its step waits for a trunk version, so that the
   * copy is off the path from one version to the next. The batch order is unchanged.
   */
  void prefetch(String task) {
    prefetched.computeIfAbsent(task, this::gather);
  }

  /** Per task, batches drawn for steps: one gathered ahead for a waiting step does not count. */
  Map<String, Long> drawn(List<String> tasks) {
    Map<String, Long> drawn = new LinkedHashMap<>();
    for (String task : tasks) {
      Next ahead = prefetched.get(task);
      drawn.put(task, ahead != null ? ahead.index() : samplers.get(task).batchesDrawn());
    }
    return drawn;
  }

  /** Batch positions of tasks, from a checkpoint; unknown tasks are skipped. */
  void skipTo(Map<String, Long> drawn) {
    drawn.forEach((task, batches) -> {
      BatchSampler sampler = samplers.get(task);
      if (sampler != null) {
        prefetched.remove(task);
        sampler.skipTo(batches);
      }
    });
  }

  /**
   * The task's next batch, copied into the task's one batch buffer: a step and the gathering of
   * the next batch both run on the worker's thread, one after the other, so one buffer is enough.
   */
  private Next gather(String task) {
    BatchSampler sampler = samplers.get(task);
    long index = sampler.batchesDrawn();
    DataSet data = plan.trainingData().get(task);
    Batch batch = buffers.computeIfAbsent(task, t -> data.newBatch(sampler.batchSize()));
    data.fill(sampler.next(), batch);
    return new Next(index, batch);
  }
}
