package tandem.model.spec;

import java.util.List;
import tandem.model.loss.Loss;
import tandem.model.module.Module;

/**
 * One output of a task, resolved: the modules applied to the path's result, the loss on the last
 * module's output, the data field with its targets, and its weight in the task's loss. Immutable.
 */
public record OutputGraph(String name, List<Module> modules, Loss loss, String label,
    double weight) {

  public OutputGraph {
    modules = List.copyOf(modules);
  }
}
