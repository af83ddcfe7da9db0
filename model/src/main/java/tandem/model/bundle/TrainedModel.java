package tandem.model.bundle;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.api.v1.JobSpec;
import tandem.api.v1.Provenance;
import tandem.api.v1.VocabularyEntry;
import tandem.model.module.Module;
import tandem.model.spec.InvalidSpecException;
import tandem.model.spec.ModelGraph;
import tandem.model.spec.ServingGraphs;
import tandem.model.spec.TaskGraph;

/**
 * A trained model ready to answer: its graph resolved from the spec (without data), every module
 * its tasks run present with the size the module expects, and the provenance. The thing that was
 * trained, as opposed to the job that trained it; {@link #predictor} makes the per-thread object
 * that runs a task forward. Immutable and thread-safe (the parameter buffers are only read).
 */
public final class TrainedModel {

  private final JobSpec spec;
  private final ModelGraph graph;
  private final Map<String, INDArray> parameters;
  private final Provenance provenance;
  private final List<VocabularyEntry> vocabularies;

  private TrainedModel(JobSpec spec, ModelGraph graph, Map<String, INDArray> parameters,
      Provenance provenance, List<VocabularyEntry> vocabularies) {
    this.spec = spec;
    this.graph = graph;
    this.parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
    this.provenance = provenance;
    this.vocabularies = List.copyOf(vocabularies);
  }

  /**
   * The model in {@code bundle}; fails if its spec does not resolve or a module's parameters are
   * missing or of the wrong size. {@code source} names the bundle in errors.
   */
  public static TrainedModel of(ModelBundle bundle, String source) throws InvalidBundleException {
    ModelGraph graph;
    try {
      graph = ServingGraphs.resolve(bundle.spec());
    } catch (InvalidSpecException e) {
      throw new InvalidBundleException("bundle " + source + ": its spec does not resolve: "
          + e.getMessage(), e);
    }
    for (TaskGraph task : graph.tasks()) {
      for (String name : task.moduleNames()) {
        Module module = graph.modules().get(name);
        INDArray values = bundle.parameters().get(name);
        if (values == null) {
          throw new InvalidBundleException("bundle " + source + ": module '" + name
              + "' of task '" + task.name() + "' has no parameters in the bundle");
        }
        if (values.length() != module.parameterCount()) {
          throw new InvalidBundleException("bundle " + source + ": module '" + name
              + "': expected " + module.parameterCount() + " parameters, found "
              + values.length());
        }
      }
    }
    return new TrainedModel(bundle.spec(), graph, bundle.parameters(), bundle.provenance(),
        bundle.vocabularies());
  }

  /** This model as a bundle, to write or send. */
  public ModelBundle toBundle() {
    return new ModelBundle(spec, parameters, provenance, vocabularies);
  }

  public JobSpec spec() {
    return spec;
  }

  public ModelGraph graph() {
    return graph;
  }

  /** Flat parameter buffers by module name; read only. */
  public Map<String, INDArray> parameters() {
    return parameters;
  }

  public Provenance provenance() {
    return provenance;
  }

  /** Whether the model has a task named {@code task}. */
  public boolean hasTask(String task) {
    return graph.tasks().stream().anyMatch(t -> t.name().equals(task));
  }

  /**
   * Floats per example of the task's input field (what its first module reads), or -1 when the
   * task has no single input field of a known width (its first step routes or merges fields).
   */
  public int inputWidth(String task) {
    TaskGraph graphTask = graph.task(task);
    if (graphTask.input() == null) {
      return -1;
    }
    if (graphTask.steps().isEmpty()) {
      return graphTask.outputs().get(0).modules().get(0).inputSize();
    }
    return graphTask.steps().get(0) instanceof tandem.model.spec.PathStep.Single single
        ? single.module().inputSize() : -1;
  }

  /** Parameters over all modules. */
  public long parameterCount() {
    return parameters.values().stream().mapToLong(INDArray::length).sum();
  }

  /** A new predictor for {@code task}; confined to the thread that uses it. */
  public TaskPredictor predictor(String task) {
    return new TaskPredictor(graph.task(task), parameters);
  }
}
