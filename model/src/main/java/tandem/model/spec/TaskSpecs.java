package tandem.model.spec;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tandem.api.v1.OutputSpec;
import tandem.api.v1.TaskSpec;
import tandem.model.data.ClassField;
import tandem.model.data.DataSet;
import tandem.model.data.DataSpecs;
import tandem.model.data.Field;
import tandem.model.data.IdField;
import tandem.model.data.Vocabulary;
import tandem.model.eval.ChunkScorer;
import tandem.model.loss.Loss;
import tandem.model.module.Embedding;
import tandem.model.module.Module;
import tandem.model.module.SequenceEncoder;

/**
 * Resolves one {@link TaskSpec} against the job's modules and its data: module names, module
 * loops, size chaining from the input fields through the path ({@link PathSpecs}) into every
 * output, route fields against their branches, ids against the vocabularies of the modules that
 * read them, losses against their label fields. Structure is checked before the data is loaded,
 * so a typo in a module name is reported without reading a large file first. Confined to one
 * thread (it shares the {@link DataSpecs} cache).
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
    PathSpecs paths = new PathSpecs(modules, new HashMap<>());
    List<PathStep> steps = paths.resolve(spec, taskPath);
    if (spec.getOutputsCount() == 0) {
      throw new InvalidSpecException(taskPath + ".outputs",
          "expected at least one output (modules, loss, label), found none");
    }
    List<OutputGraph> outputs = new ArrayList<>();
    for (int j = 0; j < spec.getOutputsCount(); j++) {
      outputs.add(output(spec.getOutputs(j), taskPath + ".outputs[" + j + "]", steps, paths));
      checkOutputName(outputs, taskPath + ".outputs[" + j + "].name");
    }
    if (spec.getBatchSize() < 0) {
      throw new InvalidSpecException(taskPath + ".batchSize", "expected a batch size >= 0 "
          + "(0 means " + DEFAULT_BATCH_SIZE + "), found " + spec.getBatchSize());
    }
    int batchSize = spec.getBatchSize() == 0 ? DEFAULT_BATCH_SIZE : spec.getBatchSize();
    if (!spec.hasData()) {
      throw new InvalidSpecException(taskPath + ".data",
          "expected training data (builtin, csv, textPairs or conll), found none");
    }
    DataSet training = data.load(spec.getData(), taskPath + ".data");
    Set<String> fieldsRead = checkInputs(spec, taskPath, training, steps, outputs);
    for (int j = 0; j < outputs.size(); j++) {
      checkLabel(outputs.get(j), taskPath + ".outputs[" + j + "].label", training);
      checkMetric(outputs.get(j), taskPath + ".outputs[" + j + "].metric", training,
          "training data");
    }
    DataSet evaluation = training;
    if (spec.hasEvalData()) {
      evaluation = data.load(spec.getEvalData(), taskPath + ".evalData", training.vocabularies());
      for (String field : fieldsRead) {
        checkSameFields(field, training, evaluation, taskPath + ".evalData");
      }
      for (int j = 0; j < outputs.size(); j++) {
        checkSameFields(outputs.get(j).label(), training, evaluation, taskPath + ".evalData");
        checkMetric(outputs.get(j), taskPath + ".outputs[" + j + "].metric", evaluation,
            "evaluation data");
      }
      DataChecks.checkData(spec, taskPath, evaluation, steps, outputs, "evaluation data");
    }
    DataChecks.checkData(spec, taskPath, training, steps, outputs, "training data");
    String input = spec.getInput().isEmpty() ? null : spec.getInput();
    TaskGraph graph = TaskGraph.withSteps(spec.getName(), input, steps, outputs, batchSize);
    return new ResolvedTask(graph, training, evaluation);
  }

  private OutputGraph output(OutputSpec spec, String outputPath, List<PathStep> steps,
      PathSpecs paths) throws InvalidSpecException {
    if (spec.getModulesCount() == 0) {
      throw new InvalidSpecException(outputPath + ".modules",
          "expected at least one module, found none");
    }
    List<Module> chain = new ArrayList<>();
    for (int k = 0; k < spec.getModulesCount(); k++) {
      String modulePath = outputPath + ".modules[" + k + "]";
      Module module = paths.use(spec.getModules(k), modulePath);
      if (k > 0) {
        PathSpecs.checkLink(chain.get(k - 1).outputSize(), "module '" + chain.get(k - 1).name()
            + "' before it", module, modulePath);
      } else if (!steps.isEmpty()) {
        PathStep last = steps.get(steps.size() - 1);
        String from = last instanceof PathStep.Single single
            ? "module '" + single.module().name() + "' before it" : "the path's last step";
        PathSpecs.checkLink(last.outputSize(), from, module, modulePath);
      }
      if (module.readsIds()) {
        throw new InvalidSpecException(modulePath, "module '" + module.name() + "' reads ids, "
            + "so it must read a data field; an output continues from the path's result");
      }
      chain.add(module);
    }
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
    String metric = spec.getMetric().isEmpty() ? loss.metric() : spec.getMetric();
    if (!metric.equals(loss.metric()) && !metric.equals(ChunkScorer.METRIC)) {
      throw new InvalidSpecException(outputPath + ".metric", "unknown metric '" + metric
          + "'; expected empty (the loss's own: " + loss.metric() + ") or "
          + ChunkScorer.METRIC);
    }
    return new OutputGraph(name, chain, loss, spec.getLabel(), weight == 0 ? 1 : weight, metric);
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

  /**
   * Checks every field the path reads (the task input, branch inputs, route fields) exists and
   * fits the module that reads it; returns their names.
   */
  private static Set<String> checkInputs(TaskSpec spec, String taskPath, DataSet training,
      List<PathStep> steps, List<OutputGraph> outputs) throws InvalidSpecException {
    Set<String> read = new LinkedHashSet<>();
    // Who reads the task input: step 0's branches without a field, or the outputs if no steps.
    List<Module> inputReaders = new ArrayList<>();
    List<String> readerPaths = new ArrayList<>();
    if (steps.isEmpty()) {
      for (int j = 0; j < outputs.size(); j++) {
        inputReaders.add(outputs.get(j).modules().get(0));
        readerPaths.add(taskPath + ".outputs[" + j + "].modules[0]");
      }
    }
    for (int k = 0; k < steps.size(); k++) {
      PathStep step = steps.get(k);
      String stepPath = spec.getStepsCount() > 0 ? taskPath + ".steps[" + k + "]"
          : taskPath + ".path[" + k + "]";
      for (int b = 0; b < step.branches().size(); b++) {
        Branch branch = step.branches().get(b);
        String modulePath = spec.getStepsCount() > 0
            ? PathSpecs.branchPath(step, stepPath, b) + (step instanceof PathStep.Single ? ""
                : "[0]")
            : stepPath;
        if (branch.readsField()) {
          String inputPath = modulePath.replaceFirst("\\.modules\\[0\\]$", ".input");
          checkField(branch.input(), "input field", training, inputPath);
          checkInputWidth(branch.input(), training.field(branch.input()), branch.modules().get(0),
              modulePath);
          read.add(branch.input());
        } else if (k == 0) {
          inputReaders.add(branch.modules().get(0));
          readerPaths.add(modulePath);
        }
      }
      if (step instanceof PathStep.Route route) {
        String fieldPath = stepPath + ".route.field";
        checkField(route.field(), "route field", training, fieldPath);
        if (!(training.field(route.field()) instanceof ClassField)) {
          throw new InvalidSpecException(fieldPath, "a route field must be a class field (class "
              + "k picks branch k), but '" + route.field() + "' is "
              + describe(training.field(route.field())));
        }
        read.add(route.field());
      }
    }
    if (!inputReaders.isEmpty()) {
      if (spec.getInput().isEmpty()) {
        throw new InvalidSpecException(taskPath + ".input",
            "expected the name of the input field, found none; the data has "
                + training.fieldNames());
      }
      checkField(spec.getInput(), "input field", training, taskPath + ".input");
      for (int r = 0; r < inputReaders.size(); r++) {
        checkInputWidth(spec.getInput(), training.field(spec.getInput()), inputReaders.get(r),
            readerPaths.get(r));
      }
      read.add(spec.getInput());
    }
    return read;
  }

  private static void checkField(String name, String what, DataSet training, String fieldPath)
      throws InvalidSpecException {
    if (training.field(name) == null) {
      throw new InvalidSpecException(fieldPath, "unknown " + what + " '" + name
          + "'; the data has " + training.fieldNames());
    }
  }

  private static void checkInputWidth(String name, Field input, Module first, String fieldPath)
      throws InvalidSpecException {
    if (input.width() != first.inputSize()) {
      throw new InvalidSpecException(fieldPath, "sizes don't chain: module '" + first.name()
          + "' expects input width " + first.inputSize() + ", but input field '" + name
          + "' is " + describe(input));
    }
    if (first.readsIds() && !(input instanceof IdField)) {
      throw new InvalidSpecException(fieldPath, "module '" + first.name() + "' reads ids, but "
          + "input field '" + name + "' is " + describe(input) + "; use an id, category, "
          + "sequence or CoNLL window field");
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
    if (loss.takesSequenceLabels()) {
      boolean fits = label instanceof IdField && last.outputSize() % label.width() == 0;
      if (!fits) {
        throw new InvalidSpecException(labelPath, "loss " + loss.specName() + " on module '"
            + last.name() + "' (output width " + last.outputSize() + ") needs a sequence field "
            + "whose width (time steps) divides it, but '" + output.label() + "' is "
            + describe(label));
      }
      return;
    }
    String expected = loss.takesClassLabels()
        ? "a class field with " + last.outputSize() + " classes"
        : "a float field of width " + last.outputSize();
    boolean kindFits = loss.takesClassLabels() ? label instanceof ClassField
        : label instanceof tandem.model.data.FloatField;
    if (!kindFits || label.width() != last.outputSize()) {
      throw new InvalidSpecException(labelPath, "loss " + loss.specName() + " on module '"
          + last.name() + "' (output width " + last.outputSize() + ") needs " + expected
          + " as label, but '" + output.label() + "' is " + describe(label));
    }
  }

  /** chunk_f1 needs softmax labels named by IOB2 chunk tags, in data grouped into sentences. */
  private static void checkMetric(OutputGraph output, String metricPath, DataSet data,
      String what) throws InvalidSpecException {
    if (!output.metric().equals(ChunkScorer.METRIC)) {
      return;
    }
    Vocabulary tags = data.vocabularies().get(output.label());
    if (output.loss() != Loss.SOFTMAX_CROSS_ENTROPY || tags == null
        || !ChunkScorer.isIob2(tags.tokens()) || !data.hasSentences()) {
      throw new InvalidSpecException(metricPath, ChunkScorer.METRIC + " needs loss "
          + Loss.SOFTMAX_CROSS_ENTROPY.specName() + " on a class field named by IOB2 chunk tags "
          + "(O, B-X, I-X) in data grouped into sentences (the chunk field of conll data), but "
          + "the output has loss " + output.loss().specName() + " and the " + what + "'s field '"
          + output.label() + "' is " + (tags == null ? "not named by tags"
          : "named by " + tags.tokens())
          + (data.hasSentences() ? "" : ", in data without sentences"));
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

  static String describe(Field field) {
    if (field instanceof ClassField classes) {
      return "a class field with " + classes.classes() + " classes";
    }
    if (field instanceof IdField ids) {
      return "an id field of width " + ids.width() + " (vocabulary up to "
          + ids.maxVocabularySize() + ")";
    }
    return "a float field of width " + field.width();
  }

  /** Vocabulary size of the module reading input column {@code column}, or -1 if it reads floats. */
  static int vocabularyOf(Module module, int column) {
    if (module instanceof Embedding embedding) {
      return embedding.vocabularySizeOfColumn(column);
    }
    if (module instanceof SequenceEncoder encoder) {
      return encoder.vocabularySize();
    }
    return -1;
  }
}
