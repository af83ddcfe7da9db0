package tandem.model.spec;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import tandem.api.v1.OutputSpec;
import tandem.api.v1.TaskSpec;
import tandem.model.loss.Loss;
import tandem.model.module.Module;

/**
 * Resolves a trained model's {@link tandem.api.v1.JobSpec} into its {@link ModelGraph} without
 * reading any data: what serving a model needs, on a machine that may not have the training
 * files. The spec was checked in full when the model was trained, so this only resolves names and
 * reports what cannot be resolved. Paths resolve as training resolves them ({@link PathSpecs}:
 * plain paths, routes, merges). Stateless.
 */
public final class ServingGraphs {

  private ServingGraphs() {}

  /** The modules and tasks of {@code spec}. */
  public static ModelGraph resolve(tandem.api.v1.JobSpec spec) throws InvalidSpecException {
    Map<String, Module> modules = ModuleSpecs.build(spec.getModulesList());
    List<TaskGraph> tasks = new ArrayList<>();
    for (int i = 0; i < spec.getTasksCount(); i++) {
      tasks.add(task(spec.getTasks(i), "tasks[" + i + "]", modules));
    }
    return new ModelGraph(modules, tasks);
  }

  private static TaskGraph task(TaskSpec spec, String taskPath, Map<String, Module> modules)
      throws InvalidSpecException {
    PathSpecs paths = new PathSpecs(modules, new HashMap<>());
    List<PathStep> steps = paths.resolve(spec, taskPath);
    List<OutputGraph> outputs = new ArrayList<>();
    for (int j = 0; j < spec.getOutputsCount(); j++) {
      OutputSpec output = spec.getOutputs(j);
      String outputPath = taskPath + ".outputs[" + j + "]";
      List<Module> chain = new ArrayList<>();
      for (int k = 0; k < output.getModulesCount(); k++) {
        chain.add(paths.use(output.getModules(k), outputPath + ".modules[" + k + "]"));
      }
      if (chain.isEmpty()) {
        throw new InvalidSpecException(outputPath + ".modules", "expected at least one module");
      }
      Loss loss = Loss.named(output.getLoss()).orElseThrow(() -> new InvalidSpecException(
          outputPath + ".loss", "unknown loss '" + output.getLoss() + "'"));
      String name = output.getName().isEmpty()
          ? chain.get(chain.size() - 1).name() : output.getName();
      outputs.add(new OutputGraph(name, chain, loss, output.getLabel(),
          output.getWeight() == 0 ? 1 : output.getWeight()));
    }
    if (outputs.isEmpty()) {
      throw new InvalidSpecException(taskPath + ".outputs", "expected at least one output");
    }
    int batchSize = spec.getBatchSize() == 0 ? TaskSpecs.DEFAULT_BATCH_SIZE : spec.getBatchSize();
    String input = spec.getInput().isEmpty() ? null : spec.getInput();
    return TaskGraph.withSteps(spec.getName(), input, steps, outputs, batchSize);
  }

}
