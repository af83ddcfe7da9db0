package tandem.model.spec;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import tandem.model.module.Module;

/**
 * A task, resolved against the job's modules: the input field, the path of modules, its outputs and
 * its batch size. Immutable.
 */
public record TaskGraph(String name, String input, List<Module> path, List<OutputGraph> outputs,
    int batchSize) {

  public TaskGraph {
    path = List.copyOf(path);
    outputs = List.copyOf(outputs);
  }

  /** Names of every module this task runs, path first, in order of first use. */
  public Set<String> moduleNames() {
    Set<String> names = new LinkedHashSet<>();
    path.forEach(module -> names.add(module.name()));
    outputs.forEach(output -> output.modules().forEach(module -> names.add(module.name())));
    return names;
  }
}
