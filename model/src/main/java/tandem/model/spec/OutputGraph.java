package tandem.model.spec;

import java.util.List;
import tandem.model.loss.Loss;
import tandem.model.module.Module;

/**
 * One output of a task, resolved: the modules applied to the path's result, the loss on the last
 * module's output, the data field with its targets, its weight in the task's loss, and the metric
 * its evaluation reports ({@link Loss#metric()} unless the spec names another, e.g.
 * {@code chunk_f1}). Immutable.
 */
public record OutputGraph(String name, List<Module> modules, Loss loss, String label,
    double weight, String metric) {

  public OutputGraph {
    modules = List.copyOf(modules);
  }

  /** An output evaluated with its loss's own metric. */
  public OutputGraph(String name, List<Module> modules, Loss loss, String label, double weight) {
    this(name, modules, loss, label, weight, loss.metric());
  }
}
