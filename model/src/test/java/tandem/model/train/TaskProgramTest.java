package tandem.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.model.GradientCheck;
import tandem.model.data.Batch;
import tandem.model.loss.Loss;
import tandem.model.module.Activations;
import tandem.model.module.DenseStack;
import tandem.model.spec.OutputGraph;
import tandem.model.spec.TaskGraph;

class TaskProgramTest {

  private static DenseStack dense(String name, int in, int out, String activation) {
    return new DenseStack(name, in,
        List.of(new DenseStack.Layer(out, Activations.named(activation).orElseThrow())));
  }

  /** A path of two modules feeding three outputs, one per loss, with a weighted output. */
  private static TaskGraph task() {
    DenseStack trunk = dense("trunk", 4, 6, "tanh");
    DenseStack mid = dense("mid", 6, 5, "softplus");
    return new TaskGraph("t", "x", List.of(trunk, mid), List.of(
        new OutputGraph("classes", List.of(dense("classes", 5, 3, "identity")),
            Loss.SOFTMAX_CROSS_ENTROPY, "y", 1.0),
        new OutputGraph("bits", List.of(dense("bits", 5, 2, "identity")),
            Loss.SIGMOID_CROSS_ENTROPY, "b", 0.5),
        new OutputGraph("value", List.of(dense("value_hidden", 5, 4, "relu"),
            dense("value", 4, 1, "identity")), Loss.MSE, "v", 2.0)), 3);
  }

  private static Batch batch() {
    Map<String, INDArray> fields = new LinkedHashMap<>();
    fields.put("x", Nd4j.rand(DataType.DOUBLE, 3, 4).subi(0.5));
    fields.put("y", Nd4j.createFromArray(new double[][] {{1, 0, 0}, {0, 0, 1}, {0, 1, 0}}));
    fields.put("b", Nd4j.createFromArray(new double[][] {{1, 0}, {0, 1}, {1, 1}}));
    fields.put("v", Nd4j.rand(DataType.DOUBLE, 3, 1));
    return new Batch(3, fields);
  }

  @Test
  void gradientsOfEveryModuleMatchNumericalThroughPathAndOutputs() {
    Nd4j.getRandom().setSeed(11);
    TaskGraph task = task();
    Map<String, INDArray> parameters = new LinkedHashMap<>();
    for (var module : List.of(task.path().get(0), task.path().get(1))) {
      parameters.put(module.name(), Nd4j.rand(DataType.DOUBLE, module.parameterCount()).subi(0.5));
    }
    for (OutputGraph output : task.outputs()) {
      output.modules().forEach(module -> parameters.put(module.name(),
          Nd4j.rand(DataType.DOUBLE, module.parameterCount()).subi(0.5)));
    }
    Map<String, INDArray> gradients = ModelParameters.zerosLike(parameters);
    Batch batch = batch();
    TaskProgram program = new TaskProgram(task, DataType.DOUBLE);
    StepResult result = program.computeGradients(parameters, batch, gradients);
    Map<String, INDArray> scratch = ModelParameters.zerosLike(parameters);
    TaskProgram probe = new TaskProgram(task, DataType.DOUBLE);
    java.util.function.DoubleSupplier loss =
        () -> probe.computeGradients(parameters, batch, scratch).loss();
    assertEquals(result.loss(), loss.getAsDouble(), 1e-12);
    double weighted = result.outputLosses().get("classes") + 0.5 * result.outputLosses().get("bits")
        + 2.0 * result.outputLosses().get("value");
    assertEquals(weighted, result.loss(), 1e-12);
    for (String module : parameters.keySet()) {
      GradientCheck.assertGradient(module, parameters.get(module), gradients.get(module), loss,
          1e-5);
    }
  }

  @Test
  void gradientsAreOverwrittenNotAccumulatedAcrossSteps() {
    TaskGraph task = task();
    Map<String, INDArray> parameters = new LinkedHashMap<>();
    long seed = 5;
    for (String name : task.moduleNames()) {
      var module = task.path().stream().filter(m -> m.name().equals(name)).findFirst()
          .or(() -> task.outputs().stream().flatMap(o -> o.modules().stream())
              .filter(m -> m.name().equals(name)).findFirst()).orElseThrow();
      INDArray flat = Nd4j.create(DataType.DOUBLE, module.parameterCount());
      module.initializeInPlace(flat, seed++);
      parameters.put(name, flat);
    }
    Map<String, INDArray> gradients = ModelParameters.zerosLike(parameters);
    TaskProgram program = new TaskProgram(task, DataType.DOUBLE);
    Batch batch = batch();
    program.computeGradients(parameters, batch, gradients);
    Map<String, INDArray> first = new LinkedHashMap<>();
    gradients.forEach((name, g) -> first.put(name, g.dup()));
    program.computeGradients(parameters, batch, gradients);
    assertEquals(first, gradients);
  }
}
