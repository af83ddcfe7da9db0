package tandem.worker;

import tandem.api.v1.BuiltinData;
import tandem.api.v1.ConsistencySpec;
import tandem.api.v1.DataSpec;
import tandem.api.v1.DenseLayer;
import tandem.api.v1.DenseStack;
import tandem.api.v1.JobSpec;
import tandem.api.v1.ModuleSpec;
import tandem.api.v1.OptimizerSpec;
import tandem.api.v1.OutputSpec;
import tandem.api.v1.StopCondition;
import tandem.api.v1.TaskSpec;
import tandem.model.spec.InvalidSpecException;
import tandem.model.spec.JobSpecCompiler;
import tandem.model.spec.TrainingPlan;

/**
 * A tiny arithmetic job for the worker's tests. Three tasks, so that modules fall on both sides:
 * <ul>
 *   <li>{@code binary_plus1}: binary_encoder, plus1, binary_decoder (all shared; no head);
 *   <li>{@code binary_times2}: binary_encoder, times2 (head), binary_decoder;
 *   <li>{@code decimal_plus1}: decimal_encoder (head), plus1, binary_decoder.
 * </ul>
 * Shared: binary_encoder, plus1, binary_decoder. Batch size 4 of the ten examples; SGD.
 */
public final class TinyPlans {

  static final int BATCH_SIZE = 4;
  static final double LEARNING_RATE = 0.1;

  private TinyPlans() {}

  public static JobSpec spec() {
    return JobSpec.newBuilder()
        .setName("tiny-arithmetic")
        .addModules(dense("binary_encoder", 4, 8, "relu"))
        .addModules(dense("decimal_encoder", 10, 8, "relu"))
        .addModules(dense("plus1", 8, 8, "tanh"))
        .addModules(dense("times2", 8, 8, "tanh"))
        .addModules(dense("binary_decoder", 8, 5, "identity"))
        .addTasks(task("binary_plus1", "plus1", "binary", "binary_encoder", "plus1"))
        .addTasks(task("binary_times2", "times2", "binary", "binary_encoder", "times2"))
        .addTasks(task("decimal_plus1", "plus1", "decimal", "decimal_encoder", "plus1"))
        .setConsistency(ConsistencySpec.newBuilder().setMode("sync").setStepsInFlight(1))
        .setOptimizer(OptimizerSpec.newBuilder().setName("sgd").setLearningRate(LEARNING_RATE))
        .setStop(StopCondition.newBuilder().setMaxSteps(10))
        .setSeed(42)
        .build();
  }

  public static TrainingPlan plan() {
    try {
      return JobSpecCompiler.compile(spec());
    } catch (InvalidSpecException e) {
      throw new AssertionError(e);
    }
  }

  private static ModuleSpec dense(String name, int in, int out, String activation) {
    return ModuleSpec.newBuilder().setName(name).setDense(DenseStack.newBuilder()
        .setInputSize(in)
        .addLayers(DenseLayer.newBuilder().setSize(out).setActivation(activation)))
        .build();
  }

  private static TaskSpec task(String name, String operation, String input, String... path) {
    return TaskSpec.newBuilder()
        .setName(name)
        .setData(DataSpec.newBuilder().setBuiltin(
            BuiltinData.newBuilder().setName("arithmetic").putOptions("operation", operation)))
        .setInput(input)
        .addAllPath(java.util.List.of(path))
        .addOutputs(OutputSpec.newBuilder().setName("binary").addModules("binary_decoder")
            .setLoss("sigmoid_cross_entropy").setLabel("result_bits"))
        .setBatchSize(BATCH_SIZE)
        .build();
  }
}
