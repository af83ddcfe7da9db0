package tandem.model.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.google.protobuf.Duration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tandem.api.v1.AggregationSpec;
import tandem.api.v1.BuiltinData;
import tandem.api.v1.ConsistencySpec;
import tandem.api.v1.CsvData;
import tandem.api.v1.CsvField;
import tandem.api.v1.DataSpec;
import tandem.api.v1.DenseLayer;
import tandem.api.v1.DenseStack;
import tandem.api.v1.JobSpec;
import tandem.api.v1.ModuleSpec;
import tandem.api.v1.OptimizerSpec;
import tandem.api.v1.OutputSpec;
import tandem.api.v1.ScheduleSpec;
import tandem.api.v1.StopCondition;
import tandem.api.v1.TaskSpec;
import tandem.model.data.ClassField;
import tandem.model.data.FloatField;
import tandem.model.loss.Loss;
import tandem.model.module.Module;
import tandem.model.optim.OptimizerSettings;

/** Valid specs; the rejected ones are in {@link JobSpecCompilerRejectsTest}. */
class JobSpecCompilerTest {

  @TempDir
  Path dir;

  @Test
  void arithmeticSpecSharesEveryModuleAndFillsDefaults() throws Exception {
    TrainingPlan plan = JobSpecCompiler.compile(arithmeticSpec().build(), dir);

    ModelGraph graph = plan.graph();
    List<String> all = List.of("binary", "decimal", "plus1", "times2", "binary_out", "decimal_out");
    assertEquals(all, List.copyOf(graph.modules().keySet()));
    assertEquals(all, List.copyOf(graph.sharedModules()));
    assertEquals(List.of("binary_plus1", "binary_times2", "decimal_plus1", "decimal_times2"),
        graph.tasks().stream().map(TaskGraph::name).toList());
    for (TaskGraph task : graph.tasks()) {
      assertEquals(Set.of(), graph.heads(task.name()));
      assertEquals(32, task.batchSize());
      assertEquals(List.of("binary_out", "decimal_out"),
          task.outputs().stream().map(OutputGraph::name).toList());
      assertEquals(List.of(Loss.SIGMOID_CROSS_ENTROPY, Loss.SOFTMAX_CROSS_ENTROPY),
          task.outputs().stream().map(OutputGraph::loss).toList());
      assertEquals(List.of(1.0, 1.0), task.outputs().stream().map(OutputGraph::weight).toList());
      assertSame(plan.trainingData().get(task.name()), plan.evaluationData().get(task.name()));
      assertEquals(10, plan.trainingData().get(task.name()).size());
    }
    TaskGraph decimalTimes2 = graph.task("decimal_times2");
    assertEquals("decimal", decimalTimes2.input());
    assertEquals(List.of("decimal", "times2"),
        decimalTimes2.path().stream().map(Module::name).toList());
    assertSame(graph.modules().get("times2"), decimalTimes2.path().get(1));
    assertEquals("result_bits", decimalTimes2.outputs().get(0).label());
    // Tasks on the same builtin data set get the same loaded data.
    assertSame(plan.trainingData().get("binary_plus1"), plan.trainingData().get("decimal_plus1"));

    assertEquals(new OptimizerSettings("adam", 0.001, 0.9, 0.999, 1e-8, false), plan.optimizer());
    assertEquals("round_robin", plan.schedule().policy());
    assertEquals("sync", plan.consistency().mode());
    assertEquals(1, plan.stepsInFlight());
    assertEquals("mean", plan.aggregation().method());
    assertEquals(400, plan.maxSteps());
    assertNull(plan.maxTime());
    assertEquals(7, plan.seed());
    assertEquals(0, plan.workers());
  }

  @Test
  void trunkWithOneHeadPerTaskAndExplicitSettings() throws Exception {
    Files.writeString(dir.resolve("points.csv"), "a,b,c,target\n1,2,3,0.5\n4,5,6,-1\n\n");
    CsvData points = CsvData.newBuilder().setPath("points.csv").setHeader(true)
        .addFields(CsvField.newBuilder().setName("xyz").setType("float")
            .addColumns(0).addColumns(1).addColumns(2))
        .addFields(CsvField.newBuilder().setName("target").setType("float").addColumns(3))
        .build();
    JobSpec spec = JobSpec.newBuilder()
        .addModules(dense("trunk", 10, 16, "tanh"))
        .addModules(dense("classes", 16, 20, ""))
        .addModules(dense("bits", 16, 5, ""))
        .addModules(dense("regression", 3, 1, "identity"))
        .addTasks(TaskSpec.newBuilder().setName("a").setData(arithmetic("plus1"))
            .setInput("decimal").addPath("trunk")
            .addOutputs(output("softmax_cross_entropy", "result", "classes")))
        .addTasks(TaskSpec.newBuilder().setName("b").setData(arithmetic("times2"))
            .setEvalData(arithmetic("plus1")).setInput("decimal").addPath("trunk").setBatchSize(8)
            .addOutputs(output("sigmoid_cross_entropy", "result_bits", "bits")
                .setName("result_bits").setWeight(0.5)))
        // No path: the output starts from the input field.
        .addTasks(TaskSpec.newBuilder().setName("c").setData(DataSpec.newBuilder().setCsv(points))
            .setInput("xyz").addOutputs(output("mse", "target", "regression")))
        .setOptimizer(OptimizerSpec.newBuilder().setName("sgd"))
        .setSchedule(ScheduleSpec.newBuilder().setPolicy("random"))
        .setConsistency(ConsistencySpec.newBuilder().setMode("sync").setStepsInFlight(2))
        .setAggregation(AggregationSpec.newBuilder().setMethod("sum"))
        .setStop(StopCondition.newBuilder().setMaxSteps(10)
            .setMaxTime(Duration.newBuilder().setSeconds(30)))
        .setWorkers(2)
        .build();

    TrainingPlan plan = JobSpecCompiler.compile(spec, dir);

    ModelGraph graph = plan.graph();
    assertEquals(Set.of("trunk"), graph.sharedModules());
    assertEquals(Set.of("classes"), graph.heads("a"));
    assertEquals(Set.of("bits"), graph.heads("b"));
    assertEquals(Set.of("regression"), graph.heads("c"));
    OutputGraph bits = graph.task("b").outputs().get(0);
    assertEquals("result_bits", bits.name());
    assertEquals(0.5, bits.weight());
    assertEquals(8, graph.task("b").batchSize());
    assertEquals(List.of(), graph.task("c").path());
    // Task b evaluates on the plus1 data: result of n = 9 is 10, not 18.
    int[] evalResults = ((ClassField) plan.evaluationData().get("b")
        .field("result")).ids();
    assertEquals(10, evalResults[9]);
    assertSame(plan.trainingData().get("a"), plan.evaluationData().get("b"));
    FloatField xyz = (FloatField) plan.trainingData().get("c").field("xyz");
    assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, xyz.values());

    assertEquals(new OptimizerSettings("sgd", 0.1, 0.9, 0.999, 1e-8, false), plan.optimizer());
    assertEquals("random", plan.schedule().policy());
    assertEquals(2, plan.stepsInFlight());
    assertEquals("sum", plan.aggregation().method());
    assertEquals(java.time.Duration.ofSeconds(30), plan.maxTime());
    assertEquals(2, plan.workers());
    assertSame(spec, plan.spec());
  }

  @Test
  void withoutBaseDirAnAbsoluteCsvPathIsReadAsGiven() throws Exception {
    Path file = Files.writeString(dir.resolve("abs.csv"), "1,0,0,0\n0,0,1,1\n");
    JobSpec.Builder spec = arithmeticSpec();
    spec.getTasksBuilder(0).setData(DataSpec.newBuilder().setCsv(CsvData.newBuilder()
        .setPath(file.toAbsolutePath().toString())
        .addFields(CsvField.newBuilder().setName("binary").setType("float")
            .addAllColumns(List.of(0, 1, 2, 3)))
        .addFields(CsvField.newBuilder().setName("result_bits").setType("float")
            .addAllColumns(List.of(0, 1, 2, 3, 3)))
        .addFields(CsvField.newBuilder().setName("result").setType("class").addColumns(3)
            .setClasses(20))));

    TrainingPlan plan = JobSpecCompiler.compile(spec.build());

    FloatField bits = (FloatField) plan.trainingData().get("binary_plus1").field("result_bits");
    assertArrayEquals(new float[] {1, 0, 0, 0, 0, 0, 0, 1, 1, 1}, bits.values());
    assertArrayEquals(new int[] {0, 1},
        ((ClassField) plan.trainingData().get("binary_plus1").field("result")).ids());
  }

  /**
   * The modular arithmetic example: two encoders, two operations, two decoders; one task per
   * (encoder, operation), every decoder trained on every task.
   */
  static JobSpec.Builder arithmeticSpec() {
    JobSpec.Builder spec = JobSpec.newBuilder().setName("arithmetic")
        .addModules(dense("binary", 4, 16, "relu"))
        .addModules(dense("decimal", 10, 16, "relu"))
        .addModules(dense("plus1", 16, 16, "relu"))
        .addModules(dense("times2", 16, 16, "relu"))
        .addModules(dense("binary_out", 16, 5, "identity"))
        .addModules(dense("decimal_out", 16, 20, "identity"))
        .setStop(StopCondition.newBuilder().setMaxSteps(400))
        .setSeed(7);
    for (String encoder : List.of("binary", "decimal")) {
      for (String operation : List.of("plus1", "times2")) {
        spec.addTasks(TaskSpec.newBuilder().setName(encoder + "_" + operation)
            .setData(arithmetic(operation)).setInput(encoder)
            .addPath(encoder).addPath(operation)
            .addOutputs(output("sigmoid_cross_entropy", "result_bits", "binary_out"))
            .addOutputs(output("softmax_cross_entropy", "result", "decimal_out")));
      }
    }
    return spec;
  }

  static ModuleSpec.Builder dense(String name, int in, int out, String activation) {
    return ModuleSpec.newBuilder().setName(name).setDense(DenseStack.newBuilder()
        .setInputSize(in)
        .addLayers(DenseLayer.newBuilder().setSize(out).setActivation(activation)));
  }

  static DataSpec.Builder arithmetic(String operation) {
    return DataSpec.newBuilder().setBuiltin(
        BuiltinData.newBuilder().setName("arithmetic").putOptions("operation", operation));
  }

  static OutputSpec.Builder output(String loss, String label, String... modules) {
    return OutputSpec.newBuilder().setLoss(loss).setLabel(label).addAllModules(List.of(modules));
  }
}
