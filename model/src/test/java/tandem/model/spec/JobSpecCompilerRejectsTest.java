package tandem.model.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static tandem.model.spec.JobSpecCompilerTest.arithmetic;
import static tandem.model.spec.JobSpecCompilerTest.arithmeticSpec;

import com.google.protobuf.Duration;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import tandem.api.v1.CsvData;
import tandem.api.v1.CsvField;
import tandem.api.v1.DataSpec;
import tandem.api.v1.JobSpec;
import tandem.api.v1.Branch;
import tandem.api.v1.Embedding;
import tandem.api.v1.MergeStep;
import tandem.api.v1.ModuleSpec;
import tandem.api.v1.PathStep;
import tandem.api.v1.RouteStep;
import tandem.api.v1.TextPairData;

/**
 * Specs with one thing wrong, each starting from the valid arithmetic spec: the compiler must name
 * the offending field and say what the problem is. CSV cases replace the data of task 0
 * ({@code binary_plus1}: input {@code binary}, labels {@code result_bits} and {@code result}).
 */
class JobSpecCompilerRejectsTest {

  @TempDir
  static Path dir;

  /** One bad spec: how to break the valid one, the field to blame, words the message must hold. */
  record Case(String name, Consumer<JobSpec.Builder> edit, String field, List<String> words) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Case> cases() {
    return Stream.of(
        // Lists and names
        bad("empty module list", s -> s.clearModules(), "modules", "at least one module"),
        bad("empty task list", s -> s.clearTasks(), "tasks", "at least one task"),
        bad("duplicate module name", s -> s.getModulesBuilder(3).setName("plus1"),
            "modules[3].name", "duplicate module name 'plus1'"),
        bad("duplicate task name", s -> s.getTasksBuilder(2).setName("binary_plus1"),
            "tasks[2].name", "duplicate task name 'binary_plus1'", "tasks[0]"),
        bad("empty module name", s -> s.getModulesBuilder(1).setName(""), "modules[1].name",
            "expected a module name"),
        bad("empty task name", s -> s.getTasksBuilder(1).setName(""), "tasks[1].name",
            "expected a task name"),
        bad("duplicate output name", s -> {
          s.getTasksBuilder(0).getOutputsBuilder(0).setName("out");
          s.getTasksBuilder(0).getOutputsBuilder(1).setName("out");
        }, "tasks[0].outputs[1].name", "duplicate output name 'out'"),
        // Modules
        bad("module without a kind", s -> s.setModules(1, ModuleSpec.newBuilder().setName("x")),
            "modules[1]", "no kind", "dense"),
        bad("negative size", s -> s.getModulesBuilder(0).getDenseBuilder().setInputSize(-4),
            "modules[0].dense.inputSize", "positive input size", "-4"),
        bad("zero size", s -> s.getModulesBuilder(2).getDenseBuilder().getLayersBuilder(0)
            .setSize(0), "modules[2].dense.layers[0].size", "positive layer size", "found 0"),
        bad("no layers", s -> s.getModulesBuilder(5).getDenseBuilder().clearLayers(),
            "modules[5].dense.layers", "at least one layer"),
        bad("unknown activation", s -> s.getModulesBuilder(0).getDenseBuilder()
            .getLayersBuilder(0).setActivation("relu6"), "modules[0].dense.layers[0].activation",
            "unknown activation 'relu6'", "leakyrelu"),
        // Paths and outputs
        bad("unknown module in a path", s -> s.getTasksBuilder(1).setPath(1, "times3"),
            "tasks[1].path[1]", "unknown module 'times3'", "known modules", "times2"),
        bad("unknown module in an output", s -> s.getTasksBuilder(3).getOutputsBuilder(1)
            .setModules(0, "hex_out"), "tasks[3].outputs[1].modules[0]",
            "unknown module 'hex_out'"),
        bad("module loop in the path", s -> s.getTasksBuilder(0).addPath("plus1"),
            "tasks[0].path[2]", "loop", "'plus1' is already used", "tasks[0].path[1]"),
        bad("module loop into an output", s -> s.getTasksBuilder(0).getOutputsBuilder(0)
            .setModules(0, "plus1").addModules("binary_out"), "tasks[0].outputs[0].modules[0]",
            "loop", "tasks[0].path[1]"),
        bad("sizes that don't chain in a path", s -> s.getModulesBuilder(2).getDenseBuilder()
            .setInputSize(8), "tasks[0].path[1]", "sizes don't chain", "'plus1' expects input "
            + "width 8", "'binary' before it outputs width 16"),
        bad("sizes that don't chain from the input", s -> s.getTasksBuilder(0).setInput("decimal"),
            "tasks[0].path[0]", "sizes don't chain", "width 4", "'decimal'", "width 10"),
        bad("sizes that don't chain into an output", s -> s.getModulesBuilder(4)
            .getDenseBuilder().setInputSize(15), "tasks[0].outputs[0].modules[0]",
            "sizes don't chain", "'binary_out' expects input width 15"),
        bad("output with no modules", s -> s.getTasksBuilder(0).getOutputsBuilder(0)
            .clearModules(), "tasks[0].outputs[0].modules", "at least one module"),
        bad("task with no outputs", s -> s.getTasksBuilder(2).clearOutputs(), "tasks[2].outputs",
            "at least one output"),
        bad("unknown loss", s -> s.getTasksBuilder(0).getOutputsBuilder(1).setLoss("hinge"),
            "tasks[0].outputs[1].loss", "unknown loss 'hinge'", "softmax_cross_entropy", "mse"),
        bad("negative weight", s -> s.getTasksBuilder(0).getOutputsBuilder(0).setWeight(-1),
            "tasks[0].outputs[0].weight", "weight >= 0", "-1"),
        bad("NaN weight", s -> s.getTasksBuilder(0).getOutputsBuilder(0).setWeight(Double.NaN),
            "tasks[0].outputs[0].weight", "NaN"),
        bad("unknown label field", s -> s.getTasksBuilder(0).getOutputsBuilder(0)
            .setLabel("bits"), "tasks[0].outputs[0].label", "unknown label field 'bits'",
            "result_bits"),
        bad("softmax on a float label", s -> s.getTasksBuilder(0).getOutputsBuilder(1)
            .setLabel("result_bits"), "tasks[0].outputs[1].label",
            "needs a class field with 20 classes", "a float field of width 5"),
        bad("softmax with the wrong class count", s -> s.getTasksBuilder(0).getOutputsBuilder(1)
            .setLabel("number"), "tasks[0].outputs[1].label", "20 classes",
            "'number' is a class field with 10 classes"),
        bad("sigmoid on a class label", s -> s.getTasksBuilder(0).getOutputsBuilder(0)
            .setLabel("result"), "tasks[0].outputs[0].label", "needs a float field of width 5",
            "a class field with 20 classes"),
        bad("unknown input field", s -> s.getTasksBuilder(0).setInput("bits"), "tasks[0].input",
            "unknown input field 'bits'", "binary"),
        bad("negative batch size", s -> s.getTasksBuilder(0).setBatchSize(-1),
            "tasks[0].batchSize", "batch size >= 0", "-1"),
        // Data
        bad("task without data", s -> s.getTasksBuilder(1).clearData(), "tasks[1].data",
            "expected training data"),
        bad("unknown builtin data set", s -> s.getTasksBuilder(0).getDataBuilder()
            .getBuiltinBuilder().setName("mnist"), "tasks[0].data.builtin.name",
            "unknown builtin data set 'mnist'", "arithmetic"),
        bad("bad builtin option", s -> s.getTasksBuilder(2).setData(arithmetic("minus1")),
            "tasks[2].data.builtin.options.operation", "unknown operation 'minus1'", "plus1"),
        bad("eval data without the label field", s -> s.getTasksBuilder(0).setEvalData(
            csv("eval.csv", "0,0,0,1\n", CsvField.newBuilder().setName("binary").setType("float")
                .addColumns(0).addColumns(1).addColumns(2).addColumns(3))), "tasks[0].evalData",
            "'result_bits'", "no such field"),
        bad("missing data file", s -> s.getTasksBuilder(0).setData(csv("absent.csv", null)),
            "tasks[0].data.csv.path", "data file not found", "absent.csv"),
        bad("unreadable data file", s -> s.getTasksBuilder(0).setData(
            DataSpec.newBuilder().setCsv(arithmeticCsv(dir.toString()))),
            "tasks[0].data.csv.path", "cannot read data file", dir.toString(), "directory"),
        bad("wrong CSV column count", s -> s.getTasksBuilder(0).setData(csv("short.csv",
            ROW_1 + "\n" + ROW_2 + "\n0,1,0\n")), "tasks[0].data.csv.path", "line 3 has 3 columns",
            "expected 10"),
        bad("unparseable number", s -> s.getTasksBuilder(0).setData(csv("text.csv",
            ROW_1 + "\n0,0,one,0,0,0,0,1,0,2\n")), "tasks[0].data.csv.fields[0].columns[2]",
            "line 2, column 2", "expected a number, found a cell of 3 characters"),
        bad("NaN in data", s -> s.getTasksBuilder(0).setData(csv("nan.csv",
            ROW_1 + "\n" + ROW_2 + "\n0,0,1,1,0,0,NaN,0,0,3\n")),
            "tasks[0].data.csv.fields[1].columns[2]", "NaN in data", "line 3, column 6"),
        bad("label out of range", s -> s.getTasksBuilder(0).setData(csv("range.csv",
            ROW_1 + "\n0,0,1,0,0,0,0,1,1,25\n")), "tasks[0].data.csv.fields[2].classes",
            "label out of range", "line 2, column 9", "class id 25", "[0, 20)"),
        bad("field column outside the row", s -> s.getTasksBuilder(0).setData(csv("cols.csv",
            ROW_1 + "\n", CsvField.newBuilder().setName("binary").setType("float")
                .addColumns(0).addColumns(12))), "tasks[0].data.csv.fields[0].columns[1]",
            "column 12 is outside", "10 columns"),
        bad("CSV without fields", s -> s.getTasksBuilder(0).setData(csv("x.csv", ROW_1 + "\n",
            new CsvField.Builder[0])), "tasks[0].data.csv.fields", "at least one field"),
        bad("unknown CSV field type", s -> s.getTasksBuilder(0).setData(csv("x.csv",
            ROW_1 + "\n", CsvField.newBuilder().setName("binary").setType("int").addColumns(0))),
            "tasks[0].data.csv.fields[0].type", "unknown field type 'int'", "float, class"),
        // Routes, ids, sequences
        bad("route value with no module", s -> s.getTasksBuilder(0)
            .setData(arithmetic("routed")).clearPath().clearInput()
            .addSteps(PathStep.newBuilder().setRoute(RouteStep.newBuilder().setField("encoder")
                .addBranches(Branch.newBuilder().setInput("binary").addModules("binary"))))
            .addSteps(PathStep.newBuilder().setModule("plus1")),
            "tasks[0].steps[0].route.field", "row 10", "route field 'encoder' holds 1",
            "no module for it"),
        bad("route field that is not a class field", s -> s.getTasksBuilder(0).clearPath()
            .addSteps(PathStep.newBuilder().setRoute(RouteStep.newBuilder().setField("binary")
                .addBranches(Branch.newBuilder().addModules("binary"))))
            .addSteps(PathStep.newBuilder().setModule("plus1")),
            "tasks[0].steps[0].route.field", "must be a class field", "float field of width 4"),
        bad("path and steps together", s -> s.getTasksBuilder(0)
            .addSteps(PathStep.newBuilder().setModule("times2")), "tasks[0].steps",
            "either a path or steps"),
        bad("unknown merge mode", s -> s.getTasksBuilder(0).clearPath()
            .addSteps(PathStep.newBuilder().setMerge(MergeStep.newBuilder().setMode("max")
                .addBranches(Branch.newBuilder().addModules("binary"))
                .addBranches(Branch.newBuilder().addModules("plus1")))),
            "tasks[0].steps[0].merge.mode", "unknown merge mode 'max'", "concat, sum"),
        bad("sequence longer than the maximum", s -> s.getTasksBuilder(0).setData(
            DataSpec.newBuilder().setTextPairs(TextPairData.newBuilder().setPath(write("pairs.tsv",
                "ab\tcd\nabcde\tx\n")).setMaxLength(3))), "tasks[0].data.textPairs.maxLength",
            "line 2", "a sequence has 5 characters", "maximum 3"),
        bad("CSV id beyond its vocabulary", s -> s.getTasksBuilder(0).setData(csv("ids.csv",
            ROW_1 + "\n0,7,0,0,0,0,0,1,0,2\n", idBinary(5), RESULT_BITS, RESULT)),
            "tasks[0].data.csv.fields[0].vocabularySize", "line 2, column 1", "id 7",
            "[0, 5)"),
        bad("id beyond the embedding's vocabulary", s -> {
          s.addModules(ModuleSpec.newBuilder().setName("emb").setEmbedding(Embedding.newBuilder()
              .setVocabularySize(3).setDimension(4).setColumns(4)));
          s.getTasksBuilder(0).setPath(0, "emb").setData(csv("ids3.csv",
              ROW_1 + "\n0,5,0,0,0,0,0,1,0,2\n", idBinary(10), RESULT_BITS, RESULT));
        }, "tasks[0].path[0]", "id beyond the vocabulary", "row 1", "column 1 holds id 5",
            "module 'emb' has ids 0-2"),
        bad("embedding after another module", s -> {
          s.addModules(ModuleSpec.newBuilder().setName("emb").setEmbedding(Embedding.newBuilder()
              .setVocabularySize(3).setDimension(1).setColumns(16)));
          s.getTasksBuilder(0).setPath(1, "emb");
        }, "tasks[0].path[1]", "reads ids", "must read a data field"),
        bad("embedding on a float field", s -> {
          s.addModules(ModuleSpec.newBuilder().setName("emb").setEmbedding(Embedding.newBuilder()
              .setVocabularySize(3).setDimension(4).setColumns(4)));
          s.getTasksBuilder(0).setPath(0, "emb");
        }, "tasks[0].path[0]", "reads ids", "float field of width 4"),
        // Job settings
        bad("unknown optimizer", s -> s.getOptimizerBuilder().setName("rmsprop"), "optimizer.name",
            "unknown optimizer 'rmsprop'", "[adam, sgd]"),
        bad("negative learning-rate half-life",
            s -> s.getOptimizerBuilder().setLearningRateHalfLife(-5),
            "optimizer.learningRateHalfLife", "updates >= 0", "-5"),
        bad("negative learning rate", s -> s.getOptimizerBuilder().setLearningRate(-0.1),
            "optimizer.learningRate", "positive finite learning rate", "-0.1"),
        bad("NaN learning rate", s -> s.getOptimizerBuilder().setLearningRate(Double.NaN),
            "optimizer.learningRate", "NaN"),
        bad("unknown schedule", s -> s.getScheduleBuilder().setPolicy("fifo"),
            "schedule.policy", "unknown schedule policy 'fifo'", "round_robin, random, proportional"),
        bad("unknown consistency mode", s -> s.getConsistencyBuilder().setMode("hogwild"),
            "consistency.mode", "unknown consistency mode 'hogwild'", "[sync, async]"),
        bad("staleness bound in sync mode", s -> s.getConsistencyBuilder().setMaxStaleness(2),
            "consistency.maxStaleness", "needs mode async"),
        bad("negative staleness bound", s -> s.getConsistencyBuilder().setMode("async")
            .setMaxStaleness(-1), "consistency.maxStaleness", "found -1"),
        bad("unknown stale-gradient policy", s -> s.getConsistencyBuilder()
            .setStaleGradients("ignore"), "consistency.staleGradients", "'ignore'", "drop"),
        bad("schedule weight for an unknown task", s -> s.getScheduleBuilder()
            .setPolicy("weighted").putWeights("binary_plus2", 1.0), "schedule.weights",
            "unknown task 'binary_plus2'"),
        bad("weighted schedule without a positive weight", s -> s.getScheduleBuilder()
            .setPolicy("weighted").putWeights("binary_plus1", 0.0), "schedule.weights",
            "at least one task"),
        bad("negative schedule weight", s -> s.getScheduleBuilder().setPolicy("weighted")
            .putWeights("binary_plus1", -1.0), "schedule.weights", "found -1.0"),
        bad("non-positive temperature", s -> s.getScheduleBuilder().setPolicy("temperature")
            .setTemperature(-2), "schedule.temperature", "found -2.0"),
        bad("unknown shared optimizer state", s -> s.getOptimizerBuilder()
            .setSharedState("global"), "optimizer.sharedState", "'global'", "per_task"),
        bad("negative task learning rate", s -> s.getTasksBuilder(1).setLearningRate(-0.1),
            "tasks[1].learningRate", "found -0.1"),
        bad("aggregation weight for an unknown task", s -> s.getAggregationBuilder()
            .setMethod("weighted").putTaskWeights("nope", 2.0), "aggregation.taskWeights",
            "unknown task 'nope'"),
        bad("negative steps in flight", s -> s.getConsistencyBuilder().setStepsInFlight(-2),
            "consistency.stepsInFlight", "-2"),
        bad("unknown aggregation", s -> s.getAggregationBuilder().setMethod("median"),
            "aggregation.method", "unknown aggregation method 'median'", "[mean, sum, weighted, uncertainty, pcgrad]"),
        bad("negative workers", s -> s.setWorkers(-1), "workers", "worker count >= 0"),
        bad("missing stop", s -> s.clearStop(), "stop", "maxSteps"),
        bad("zero max steps", s -> s.getStopBuilder().setMaxSteps(0), "stop.maxSteps",
            "positive number of steps", "found 0"),
        bad("negative max time", s -> s.getStopBuilder().setMaxTime(
            Duration.newBuilder().setSeconds(-5)), "stop.maxTime", "duration >= 0", "PT-5S"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void rejectsNamingTheFieldAndTheProblem(Case bad) {
    JobSpec.Builder spec = arithmeticSpec();
    bad.edit().accept(spec);

    InvalidSpecException e = assertThrows(InvalidSpecException.class,
        () -> JobSpecCompiler.compile(spec.build(), dir));

    assertEquals(bad.field(), e.field(), e.getMessage());
    assertTrue(e.getMessage().startsWith(bad.field() + ": "), e.getMessage());
    for (String word : bad.words()) {
      assertTrue(e.getMessage().contains(word), "'" + word + "' not in: " + e.getMessage());
    }
  }

  // Rows for task 0: columns 0-3 binary, 4-8 result_bits, 9 result.
  private static final String ROW_1 = "0,0,0,0,0,0,0,0,1,1";
  private static final String ROW_2 = "0,0,0,1,0,0,0,1,0,2";

  private static Case bad(String name, Consumer<JobSpec.Builder> edit, String field,
      String... words) {
    return new Case(name, edit, field, List.of(words));
  }

  /** A CSV source with task 0's fields, written to {@code file} unless {@code content} is null. */
  private static DataSpec csv(String file, String content) {
    return csv(file, content, arithmeticCsv(file).getFieldsList().stream()
        .map(CsvField::toBuilder).toArray(CsvField.Builder[]::new));
  }

  private static DataSpec csv(String file, String content, CsvField.Builder... fields) {
    if (content != null) {
      try {
        Files.writeString(dir.resolve(file), content);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    CsvData.Builder csv = CsvData.newBuilder().setPath(file);
    for (CsvField.Builder field : fields) {
      csv.addFields(field);
    }
    return DataSpec.newBuilder().setCsv(csv).build();
  }

  private static final CsvField.Builder RESULT_BITS = CsvField.newBuilder()
      .setName("result_bits").setType("float").addAllColumns(List.of(4, 5, 6, 7, 8));
  private static final CsvField.Builder RESULT = CsvField.newBuilder().setName("result")
      .setType("class").addColumns(9).setClasses(20);

  private static CsvField.Builder idBinary(int vocabularySize) {
    return CsvField.newBuilder().setName("binary").setType("id")
        .addAllColumns(List.of(0, 1, 2, 3)).setVocabularySize(vocabularySize);
  }

  private static String write(String file, String content) {
    try {
      Files.writeString(dir.resolve(file), content);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return file;
  }

  private static CsvData arithmeticCsv(String path) {
    return CsvData.newBuilder().setPath(path)
        .addFields(CsvField.newBuilder().setName("binary").setType("float")
            .addAllColumns(List.of(0, 1, 2, 3)))
        .addFields(CsvField.newBuilder().setName("result_bits").setType("float")
            .addAllColumns(List.of(4, 5, 6, 7, 8)))
        .addFields(CsvField.newBuilder().setName("result").setType("class").addColumns(9)
            .setClasses(20))
        .build();
  }
}
