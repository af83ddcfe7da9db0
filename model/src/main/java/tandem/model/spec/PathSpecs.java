package tandem.model.spec;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import tandem.api.v1.PathStep.StepCase;
import tandem.api.v1.TaskSpec;
import tandem.model.module.Module;

/**
 * Resolves a task's path ({@code path} or {@code steps}) into {@link PathStep}s and checks what
 * can be checked without data: module names, module loops, sizes chaining between modules and
 * steps, route and merge shapes, and that modules reading ids come right after a data field.
 * Confined to one thread.
 */
final class PathSpecs {

  private final Map<String, Module> modules;
  /** Field path of each module's first use in the task: a second use is a loop. */
  private final Map<String, String> used;

  PathSpecs(Map<String, Module> modules, Map<String, String> used) {
    this.modules = modules;
    this.used = used;
  }

  Module use(String name, String fieldPath) throws InvalidSpecException {
    Module module = modules.get(name);
    if (module == null) {
      throw new InvalidSpecException(fieldPath, "unknown module '" + name
          + "'; known modules: " + modules.keySet());
    }
    String first = used.putIfAbsent(name, fieldPath);
    if (first != null) {
      throw new InvalidSpecException(fieldPath, "module '" + name + "' is already used by this "
          + "task at " + first + "; a module loop: a task may run each module only once");
    }
    return module;
  }

  /** The task's steps; {@code taskPath} is e.g. {@code tasks[0]}. */
  List<PathStep> resolve(TaskSpec spec, String taskPath) throws InvalidSpecException {
    if (spec.getPathCount() > 0 && spec.getStepsCount() > 0) {
      throw new InvalidSpecException(taskPath + ".steps", "a task has either a path or steps, "
          + "found both (" + spec.getPathCount() + " path modules, " + spec.getStepsCount()
          + " steps)");
    }
    List<PathStep> steps = new ArrayList<>();
    for (int k = 0; k < spec.getPathCount(); k++) {
      String fieldPath = taskPath + ".path[" + k + "]";
      Module module = use(spec.getPath(k), fieldPath);
      if (k > 0) {
        checkLink(steps.get(k - 1).outputSize(), "module '" + steps.get(k - 1).modules().get(0)
            .name() + "' before it", module, fieldPath);
      }
      steps.add(new PathStep.Single(module));
    }
    for (int k = 0; k < spec.getStepsCount(); k++) {
      String stepPath = taskPath + ".steps[" + k + "]";
      PathStep step = step(spec.getSteps(k), stepPath);
      if (k > 0) {
        for (int b = 0; b < step.branches().size(); b++) {
          Branch branch = step.branches().get(b);
          if (!branch.readsField()) {
            checkLink(steps.get(k - 1).outputSize(), "the step before it (" + taskPath
                + ".steps[" + (k - 1) + "])", branch.modules().get(0),
                branchPath(step, stepPath, b) + "[0]");
          }
        }
      }
      steps.add(step);
    }
    checkIdReaders(steps, spec, taskPath);
    return steps;
  }

  private PathStep step(tandem.api.v1.PathStep spec, String stepPath)
      throws InvalidSpecException {
    if (spec.getStepCase() == StepCase.MODULE) {
      return new PathStep.Single(use(spec.getModule(), stepPath + ".module"));
    }
    if (spec.getStepCase() == StepCase.ROUTE) {
      String routePath = stepPath + ".route";
      if (spec.getRoute().getField().isEmpty()) {
        throw new InvalidSpecException(routePath + ".field",
            "expected the class field that picks each example's branch, found none");
      }
      List<Branch> branches = branches(spec.getRoute().getBranchesList(), routePath, 1);
      for (int b = 1; b < branches.size(); b++) {
        if (branches.get(b).outputSize() != branches.get(0).outputSize()) {
          throw new InvalidSpecException(routePath + ".branches[" + b + "]", "a route's branches "
              + "must output the same width: branch 0 outputs " + branches.get(0).outputSize()
              + ", branch " + b + " outputs " + branches.get(b).outputSize());
        }
      }
      return new PathStep.Route(spec.getRoute().getField(), branches);
    }
    if (spec.getStepCase() == StepCase.MERGE) {
      String mergePath = stepPath + ".merge";
      String mode = spec.getMerge().getMode();
      if (!mode.isEmpty() && !mode.equals("concat") && !mode.equals("sum")) {
        throw new InvalidSpecException(mergePath + ".mode", "unknown merge mode '" + mode
            + "'; expected one of [concat, sum]");
      }
      List<Branch> branches = branches(spec.getMerge().getBranchesList(), mergePath, 2);
      boolean sum = mode.equals("sum");
      for (int b = 1; b < branches.size() && sum; b++) {
        if (branches.get(b).outputSize() != branches.get(0).outputSize()) {
          throw new InvalidSpecException(mergePath + ".branches[" + b + "]", "a sum merge's "
              + "branches must output the same width: branch 0 outputs "
              + branches.get(0).outputSize() + ", branch " + b + " outputs "
              + branches.get(b).outputSize());
        }
      }
      return new PathStep.Merge(branches, sum);
    }
    throw new InvalidSpecException(stepPath,
        "expected a step (module, route or merge), found none");
  }

  private List<Branch> branches(List<tandem.api.v1.Branch> specs, String stepPath, int minimum)
      throws InvalidSpecException {
    if (specs.size() < minimum) {
      throw new InvalidSpecException(stepPath + ".branches", "expected at least " + minimum
          + " branch" + (minimum > 1 ? "es" : "") + ", found " + specs.size());
    }
    List<Branch> branches = new ArrayList<>();
    for (int b = 0; b < specs.size(); b++) {
      String branchPath = stepPath + ".branches[" + b + "]";
      tandem.api.v1.Branch spec = specs.get(b);
      if (spec.getModulesCount() == 0) {
        throw new InvalidSpecException(branchPath + ".modules",
            "expected at least one module, found none");
      }
      List<Module> chain = new ArrayList<>();
      for (int m = 0; m < spec.getModulesCount(); m++) {
        String modulePath = branchPath + ".modules[" + m + "]";
        Module module = use(spec.getModules(m), modulePath);
        if (m > 0) {
          checkLink(chain.get(m - 1).outputSize(), "module '" + chain.get(m - 1).name()
              + "' before it", module, modulePath);
        }
        chain.add(module);
      }
      branches.add(new Branch(spec.getInput().isEmpty() ? null : spec.getInput(), chain));
    }
    return branches;
  }

  /** Modules that read ids must read a data field: first of a branch with a field, or of step 0. */
  private static void checkIdReaders(List<PathStep> steps, TaskSpec spec, String taskPath)
      throws InvalidSpecException {
    for (int k = 0; k < steps.size(); k++) {
      PathStep step = steps.get(k);
      for (int b = 0; b < step.branches().size(); b++) {
        Branch branch = step.branches().get(b);
        for (int m = 0; m < branch.modules().size(); m++) {
          Module module = branch.modules().get(m);
          boolean readsData = m == 0 && (branch.readsField() || k == 0);
          if (module.readsIds() && !readsData) {
            String where = spec.getStepsCount() > 0
                ? branchPath(step, taskPath + ".steps[" + k + "]", b) + "[" + m + "]"
                : taskPath + ".path[" + k + "]";
            throw new InvalidSpecException(where, "module '" + module.name() + "' reads ids, so "
                + "it must read a data field (first in the path, or first in a branch with an "
                + "input), not the output of another module");
          }
        }
      }
    }
  }

  static String branchPath(PathStep step, String stepPath, int branch) {
    if (step instanceof PathStep.Route) {
      return stepPath + ".route.branches[" + branch + "].modules";
    }
    if (step instanceof PathStep.Merge) {
      return stepPath + ".merge.branches[" + branch + "].modules";
    }
    return stepPath + ".module";
  }

  static void checkLink(int width, String from, Module to, String fieldPath)
      throws InvalidSpecException {
    if (width != to.inputSize()) {
      throw new InvalidSpecException(fieldPath, "sizes don't chain: module '" + to.name()
          + "' expects input width " + to.inputSize() + ", but " + from + " outputs width "
          + width);
    }
  }
}
