package tandem.model.spec;

import java.util.List;
import tandem.model.module.Module;

/**
 * A chain of modules inside a route or merge step, resolved. {@code input} is the data field it
 * starts from, or {@code null} for the previous step's output (the task's input at the first step).
 * Immutable.
 */
public record Branch(String input, List<Module> modules) {

  public Branch {
    modules = List.copyOf(modules);
    if (modules.isEmpty()) {
      throw new IllegalArgumentException("a branch needs at least one module");
    }
  }

  /** Whether the branch reads a data field of its own rather than the previous step's output. */
  public boolean readsField() {
    return input != null;
  }

  public int inputSize() {
    return modules.get(0).inputSize();
  }

  public int outputSize() {
    return modules.get(modules.size() - 1).outputSize();
  }
}
