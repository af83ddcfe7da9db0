package tandem.model.spec;

import java.util.ArrayList;
import java.util.List;
import tandem.model.module.Module;

/**
 * One step of a task's path, resolved: a module applied to every example, a route (one branch per
 * example, picked by a class field; only the picked branch runs) or a merge (every branch runs and
 * the outputs are concatenated or summed). Immutable.
 */
public sealed interface PathStep {

  /** Every module the step may run, in order. */
  List<Module> modules();

  /** Width of the step's output. */
  int outputSize();

  /** The step's branches (a single module is one branch reading the previous output). */
  List<Branch> branches();

  /** A module applied to every example. */
  record Single(Module module) implements PathStep {
    @Override
    public List<Module> modules() {
      return List.of(module);
    }

    @Override
    public int outputSize() {
      return module.outputSize();
    }

    @Override
    public List<Branch> branches() {
      return List.of(new Branch(null, List.of(module)));
    }
  }

  /** Examples whose class in {@code field} is k run through {@code branches.get(k)}. */
  record Route(String field, List<Branch> branches) implements PathStep {
    public Route {
      branches = List.copyOf(branches);
    }

    @Override
    public List<Module> modules() {
      return allModules(branches);
    }

    @Override
    public int outputSize() {
      return branches.get(0).outputSize();
    }
  }

  /** Every branch on every example; outputs side by side ({@code sum} false) or added. */
  record Merge(List<Branch> branches, boolean sum) implements PathStep {
    public Merge {
      branches = List.copyOf(branches);
    }

    @Override
    public List<Module> modules() {
      return allModules(branches);
    }

    @Override
    public int outputSize() {
      return sum ? branches.get(0).outputSize()
          : branches.stream().mapToInt(Branch::outputSize).sum();
    }
  }

  /** A plain path: one single-module step per module. */
  static List<PathStep> singles(List<Module> path) {
    return path.stream().<PathStep>map(Single::new).toList();
  }

  private static List<Module> allModules(List<Branch> branches) {
    List<Module> modules = new ArrayList<>();
    branches.forEach(branch -> modules.addAll(branch.modules()));
    return modules;
  }
}
