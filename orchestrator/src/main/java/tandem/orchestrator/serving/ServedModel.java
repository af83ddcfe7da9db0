package tandem.orchestrator.serving;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Function;
import tandem.api.v1.ModelInfo;
import tandem.api.v1.TaskInfo;
import tandem.model.bundle.TaskPredictor;
import tandem.model.bundle.TrainedModel;
import tandem.model.spec.TaskGraph;

/**
 * A model the server answers with: a loaded bundle or a succeeded job's parameters, under a name,
 * with idle {@link TaskPredictor}s per task (made on first use, so a model with hundreds of heads
 * only pays for the tasks it is asked about). Thread-safe: a predictor is lent to one thread at a
 * time.
 */
public final class ServedModel {

  /** Where a served model came from. */
  public enum Kind { BUNDLE, JOB }

  private final String name;
  private final Kind kind;
  private final String path;
  private final long bundleBytes;
  private final TrainedModel model;
  private final ConcurrentHashMap<String, ConcurrentLinkedQueue<TaskPredictor>> idle =
      new ConcurrentHashMap<>();

  /**
   * @param path the bundle file ({@code ""} for jobs)
   * @param bundleBytes the bundle file's size (0 for jobs)
   */
  public ServedModel(String name, Kind kind, String path, long bundleBytes, TrainedModel model) {
    this.name = name;
    this.kind = kind;
    this.path = path;
    this.bundleBytes = bundleBytes;
    this.model = model;
  }

  public String name() {
    return name;
  }

  public Kind kind() {
    return kind;
  }

  public TrainedModel model() {
    return model;
  }

  /** Runs {@code work} with a predictor of {@code task} that no other thread uses meanwhile. */
  public <T> T withPredictor(String task, Function<TaskPredictor, T> work) {
    ConcurrentLinkedQueue<TaskPredictor> queue =
        idle.computeIfAbsent(task, t -> new ConcurrentLinkedQueue<>());
    TaskPredictor predictor = queue.poll();
    if (predictor == null) {
      predictor = model.predictor(task);
    }
    try {
      return work.apply(predictor);
    } finally {
      queue.add(predictor);
    }
  }

  /** What ListModels says about this model. */
  public ModelInfo info() {
    ModelInfo.Builder info = ModelInfo.newBuilder()
        .setName(name)
        .setKind(kind.name().toLowerCase())
        .setPath(path)
        .addAllSharedModules(model.graph().sharedModules())
        .setParameters(model.parameterCount())
        .setBundleBytes(bundleBytes)
        .setProvenance(model.provenance());
    for (TaskGraph task : model.graph().tasks()) {
      info.addTasks(TaskInfo.newBuilder()
          .setTask(task.name())
          .setInput(task.input() == null ? "" : task.input())
          .setInputWidth(Math.max(0, model.inputWidth(task.name())))
          .addAllOutputs(task.outputs().stream().map(o -> o.name()).toList())
          .addAllHeads(model.graph().heads(task.name())));
    }
    return info.build();
  }
}
