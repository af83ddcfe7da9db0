package tandem.orchestrator.job;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.api.v1.AggregationSpec;
import tandem.api.v1.BuiltinData;
import tandem.api.v1.ConsistencySpec;
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
import tandem.model.spec.InvalidSpecException;
import tandem.model.spec.JobSpecCompiler;
import tandem.model.spec.TrainingPlan;

/**
 * A tiny two-task arithmetic job for the orchestrator's unit tests: {@code binary_plus1} and
 * {@code binary_times2} share {@code binary_encoder} and {@code binary_decoder}; {@code plus1} and
 * {@code times2} (same size) are their heads. SGD, round robin, sync.
 */
final class TinyJobs {

  static final List<String> TASKS = List.of("binary_plus1", "binary_times2");

  private TinyJobs() {}

  static JobSpec.Builder spec() {
    return JobSpec.newBuilder()
        .setName("tiny")
        .addModules(dense("binary_encoder", 4, 8, "relu"))
        .addModules(dense("plus1", 8, 8, "tanh"))
        .addModules(dense("times2", 8, 8, "tanh"))
        .addModules(dense("binary_decoder", 8, 5, "identity"))
        .addTasks(task("binary_plus1", "plus1"))
        .addTasks(task("binary_times2", "times2"))
        .setSchedule(ScheduleSpec.newBuilder().setPolicy("round_robin"))
        .setConsistency(ConsistencySpec.newBuilder().setMode("sync").setStepsInFlight(1))
        .setOptimizer(OptimizerSpec.newBuilder().setName("sgd").setLearningRate(0.5))
        .setAggregation(AggregationSpec.newBuilder().setMethod("mean"))
        .setStop(StopCondition.newBuilder().setMaxSteps(4))
        .setSeed(11);
  }

  static TrainingPlan plan(JobSpec spec) {
    try {
      return JobSpecCompiler.compile(spec);
    } catch (InvalidSpecException e) {
      throw new AssertionError(e);
    }
  }

  static TrainingPlan plan(String aggregation, long maxSteps, int stepsInFlight) {
    return plan(spec()
        .setAggregation(AggregationSpec.newBuilder().setMethod(aggregation))
        .setStop(StopCondition.newBuilder().setMaxSteps(maxSteps))
        .setConsistency(ConsistencySpec.newBuilder().setMode("sync")
            .setStepsInFlight(stepsInFlight))
        .build());
  }

  /**
   * The shared-parameter actor tests' hand-made modules, version 0: a = [1, 2, 3],
   * b = [0.5, -0.5], c = [10], d = [7, 7] (fresh arrays on each call).
   */
  static Map<String, INDArray> handMadeModules() {
    Map<String, INDArray> modules = new LinkedHashMap<>();
    modules.put("a", vector(1, 2, 3));
    modules.put("b", vector(0.5f, -0.5f));
    modules.put("c", vector(10));
    modules.put("d", vector(7, 7));
    return modules;
  }

  /** The tiny job in async mode, one step in flight, with this stale-gradient policy. */
  static TrainingPlan asyncPlan(String staleGradients, int dropStaleness) {
    return plan(spec()
        .setStop(StopCondition.newBuilder().setMaxSteps(100))
        .setConsistency(ConsistencySpec.newBuilder().setMode("async")
            .setStepsInFlight(1).setStaleGradients(staleGradients)
            .setDropStaleness(dropStaleness))
        .build());
  }

  static INDArray vector(float... values) {
    return Nd4j.createFromArray(values);
  }

  private static ModuleSpec dense(String name, int in, int out, String activation) {
    return ModuleSpec.newBuilder().setName(name).setDense(DenseStack.newBuilder()
        .setInputSize(in)
        .addLayers(DenseLayer.newBuilder().setSize(out).setActivation(activation)))
        .build();
  }

  private static TaskSpec task(String name, String operation) {
    return TaskSpec.newBuilder()
        .setName(name)
        .setData(DataSpec.newBuilder().setBuiltin(
            BuiltinData.newBuilder().setName("arithmetic").putOptions("operation", operation)))
        .setInput("binary")
        .addPath("binary_encoder")
        .addPath(operation)
        .addOutputs(OutputSpec.newBuilder().setName("binary").addModules("binary_decoder")
            .setLoss("sigmoid_cross_entropy").setLabel("result_bits"))
        .setBatchSize(4)
        .build();
  }
}
