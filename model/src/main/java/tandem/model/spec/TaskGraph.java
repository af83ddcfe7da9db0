package tandem.model.spec;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import tandem.model.module.Module;

/**
 * A task, resolved against the job's modules: the input field, the path as {@link PathStep}s, its
 * outputs and its batch size. {@code path} lists every module of the steps in order (for a plain
 * path, the path itself). {@code input} may be {@code null} when the first step's branches read
 * fields of their own. Immutable.
 */
public record TaskGraph(String name, String input, List<Module> path, List<OutputGraph> outputs,
    int batchSize, List<PathStep> steps) {

  public TaskGraph {
    path = List.copyOf(path);
    outputs = List.copyOf(outputs);
    steps = List.copyOf(steps);
  }

  /** A task with a plain path: each module applied to every example in turn. */
  public TaskGraph(String name, String input, List<Module> path, List<OutputGraph> outputs,
      int batchSize) {
    this(name, input, path, outputs, batchSize, PathStep.singles(path));
  }

  /** A task whose path has route or merge steps. */
  public static TaskGraph withSteps(String name, String input, List<PathStep> steps,
      List<OutputGraph> outputs, int batchSize) {
    List<Module> modules = new ArrayList<>();
    steps.forEach(step -> modules.addAll(step.modules()));
    return new TaskGraph(name, input, modules, outputs, batchSize, steps);
  }

  /** Names of every module this task runs, path first, in order of first use. */
  public Set<String> moduleNames() {
    Set<String> names = new LinkedHashSet<>();
    path.forEach(module -> names.add(module.name()));
    outputs.forEach(output -> output.modules().forEach(module -> names.add(module.name())));
    return names;
  }
}
