package tandem.model.spec;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import tandem.api.v1.OutputSpec;
import tandem.api.v1.TaskSpec;
import tandem.model.data.ClassField;
import tandem.model.data.DataSet;
import tandem.model.data.DataSpecs;
import tandem.model.data.Field;
import tandem.model.loss.Loss;
import tandem.model.module.Module;

/**
 * Resolves one {@link TaskSpec} against the job's modules and its data: module names, module
 * loops, size chaining from the input field through the path into every output, losses against
 * their label fields. Structure is checked before the data is loaded, so a typo in a module name
 * is reported without reading a large file first. Confined to one thread (it shares the
 * {@link DataSpecs} cache).
 */
final class TaskSpecs {

  /** Default examples per step when the spec leaves {@code batch_size} at 0. */
  static final int DEFAULT_BATCH_SIZE = 32;

  /** A task resolved: its graph and the data it trains and is evaluated on. */
  record ResolvedTask(TaskGraph graph, DataSet training, DataSet evaluation) {}

  private final Map<String, Module> modules;
  private final DataSpecs data;

  TaskSpecs(Map<String, Module> modules, DataSpecs data) {
    this.modules = modules;
    this.data = data;
  }

  /** Resolves {@code spec}, the job's task number {@code index}; its name is already checked. */
  ResolvedTask resolve(TaskSpec spec, int index) throws InvalidSpecException {
    String taskPath = "tasks[" + index + "]";
    // Field path of each module's first use: a second use is a loop.
    Map<String, String> used = new HashMap<>();
    List<Module> path = new ArrayList<>();
    for (int k = 0; k < spec.getPathCount(); k++) {
      path.add(use(spec.getPath(k), taskPath + ".path[" + k + "]", used));
    }
    checkChain(path, taskPath + ".path");
    if (spec.getOutputsCount() == 0) {
      throw new InvalidSpecException(taskPath + ".outputs",
          "expected at least one output (modules, loss, label), found none");
    }
    List<OutputGraph> outputs = new ArrayList<>();
    for (int j = 0; j < spec.getOutputsCount(); j++) {
      outputs.add(output(spec.getOutputs(j), taskPath + ".outputs[" + j + "]", path, used));
      checkOutputName(outputs, taskPath + ".outputs[" + j + "].name");
    }
    if (spec.getBatchSize() < 0) {
      throw new InvalidSpecException(taskPath + ".batchSize", "expected a batch size >= 0 "
          + "(0 means " + DEFAULT_BATCH_SIZE + "), found " + spec.getBatchSize());
    }
    int batchSize = spec.getBatchSize() == 0 ? DEFAULT_BATCH_SIZE : spec.getBatchSize();
    if (!spec.hasData()) {
      throw new InvalidSpecException(taskPath + ".data",
          "expected training data (builtin or csv), found none");
    }
    DataSet training = data.load(spec.getData(), taskPath + ".data");
    checkInput(spec, taskPath, training, path, outputs);
    for (int j = 0; j < outputs.size(); j++) {
      checkLabel(outputs.get(j), taskPath + ".outputs[" + j + "].label", training);
    }
    DataSet evaluation = training;
    if (spec.hasEvalData()) {
      evaluation = data.load(spec.getEvalData(), taskPath + ".evalData");
      checkSameFields(spec.getInput(), training, evaluation, taskPath + ".evalData");
      for (OutputGraph output : outputs) {
        checkSameFields(output.label(), training, evaluation, taskPath + ".evalData");
      }
    }
    TaskGraph graph = new TaskGraph(spec.getName(), spec.getInput(), path, outputs, batchSize);
    return new ResolvedTask(graph, training, evaluation);
  }

  private Module use(String name, String fieldPath, Map<String, String> used)
      throws InvalidSpecException {
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

  private OutputGraph output(OutputSpec spec, String outputPath, List<Module> path,
      Map<String, String> used) throws InvalidSpecException {
    if (spec.getModulesCount() == 0) {
      throw new InvalidSpecException(outputPath + ".modules",
          "expected at least one module, found none");
    }
    List<Module> chain = new ArrayList<>();
    for (int k = 0; k < spec.getModulesCount(); k++) {
      chain.add(use(spec.getModules(k), outputPath + ".modules[" + k + "]", used));
    }
    if (!path.isEmpty()) {
      checkLink(path.get(path.size() - 1), chain.get(0), outputPath + ".modules[0]");
    }
    checkChain(chain, outputPath + ".modules");
    Loss loss = Loss.named(spec.getLoss()).orElseThrow(() -> new InvalidSpecException(
        outputPath + ".loss", (spec.getLoss().isEmpty() ? "expected a loss, found none"
            : "unknown loss '" + spec.getLoss() + "'") + "; expected one of " + Loss.names()));
    double weight = spec.getWeight();
    if (!(weight >= 0) || Double.isInfinite(weight)) {
      throw new InvalidSpecException(outputPath + ".weight",
          "expected a finite weight >= 0 (0 means 1), found " + weight);
    }
    if (spec.getLabel().isEmpty()) {
      throw new InvalidSpecException(outputPath + ".label",
          "expected the name of the data field holding the targets, found none");
    }
    String name = spec.getName().isEmpty() ? chain.get(chain.size() - 1).name() : spec.getName();
    return new OutputGraph(name, chain, loss, spec.getLabel(), weight == 0 ? 1 : weight);
  }

  private static void checkOutputName(List<OutputGraph> outputs, String namePath)
      throws InvalidSpecException {
    String name = outputs.get(outputs.size() - 1).name();
    for (int j = 0; j < outputs.size() - 1; j++) {
      if (outputs.get(j).name().equals(name)) {
        throw new InvalidSpecException(namePath, "duplicate output name '" + name
            + "' (outputs[" + j + "] has it too); give the outputs distinct names");
      }
    }
  }

  /** Each module's output width must be the next one's input width. */
  private static void checkChain(List<Module> chain, String listPath)
      throws InvalidSpecException {
    for (int k = 1; k < chain.size(); k++) {
      checkLink(chain.get(k - 1), chain.get(k), listPath + "[" + k + "]");
    }
  }

  private static void checkLink(Module from, Module to, String fieldPath)
      throws InvalidSpecException {
    if (from.outputSize() != to.inputSize()) {
      throw new InvalidSpecException(fieldPath, "sizes don't chain: module '" + to.name()
          + "' expects input width " + to.inputSize() + ", but module '" + from.name()
          + "' before it outputs width " + from.outputSize());
    }
  }

  private static void checkInput(TaskSpec spec, String taskPath, DataSet training,
      List<Module> path, List<OutputGraph> outputs) throws InvalidSpecException {
    if (spec.getInput().isEmpty()) {
      throw new InvalidSpecException(taskPath + ".input",
          "expected the name of the input field, found none; the data has "
              + training.fieldNames());
    }
    Field input = training.field(spec.getInput());
    if (input == null) {
      throw new InvalidSpecException(taskPath + ".input", "unknown input field '"
          + spec.getInput() + "'; the data has " + training.fieldNames());
    }
    if (!path.isEmpty()) {
      checkInputWidth(spec.getInput(), input, path.get(0), taskPath + ".path[0]");
      return;
    }
    // An empty path: every output starts from the input field itself.
    for (int j = 0; j < outputs.size(); j++) {
      checkInputWidth(spec.getInput(), input, outputs.get(j).modules().get(0),
          taskPath + ".outputs[" + j + "].modules[0]");
    }
  }

  private static void checkInputWidth(String name, Field input, Module first, String fieldPath)
      throws InvalidSpecException {
    if (input.width() != first.inputSize()) {
      throw new InvalidSpecException(fieldPath, "sizes don't chain: module '" + first.name()
          + "' expects input width " + first.inputSize() + ", but input field '" + name
          + "' is " + describe(input));
    }
  }

  private static void checkLabel(OutputGraph output, String labelPath, DataSet training)
      throws InvalidSpecException {
    Field label = training.field(output.label());
    if (label == null) {
      throw new InvalidSpecException(labelPath, "unknown label field '" + output.label()
          + "'; the data has " + training.fieldNames());
    }
    Module last = output.modules().get(output.modules().size() - 1);
    Loss loss = output.loss();
    String expected = loss.takesClassLabels()
        ? "a class field with " + last.outputSize() + " classes"
        : "a float field of width " + last.outputSize();
    boolean kindFits = loss.takesClassLabels() == (label instanceof ClassField);
    if (!kindFits || label.width() != last.outputSize()) {
      throw new InvalidSpecException(labelPath, "loss " + loss.specName() + " on module '"
          + last.name() + "' (output width " + last.outputSize() + ") needs " + expected
          + " as label, but '" + output.label() + "' is " + describe(label));
    }
  }

  private static void checkSameFields(String name, DataSet training, DataSet evaluation,
      String evalPath) throws InvalidSpecException {
    Field expected = training.field(name);
    Field found = evaluation.field(name);
    if (found == null || found.getClass() != expected.getClass()
        || found.width() != expected.width()) {
      throw new InvalidSpecException(evalPath, "evaluation data must have field '" + name
          + "' like the training data (" + describe(expected) + "), found "
          + (found == null ? "no such field; it has " + evaluation.fieldNames() : describe(found)));
    }
  }

  private static String describe(Field field) {
    return field instanceof ClassField classes
        ? "a class field with " + classes.classes() + " classes"
        : "a float field of width " + field.width();
  }
}
