package tandem.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
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
import tandem.model.module.Module;
import tandem.model.spec.Branch;
import tandem.model.spec.ModelGraph;
import tandem.model.spec.OutputGraph;
import tandem.model.spec.PathStep;
import tandem.model.spec.TaskGraph;

/** Route and merge steps: gradients against separate per-route tasks and numerical checks. */
class RoutedPathTest {

  private static final int ROWS = 7;
  /** Rows 0, 2, 3, 6 take branch 0 (field a), rows 1, 4, 5 branch 1 (field b). */
  private static final int[] ROUTES = {0, 1, 0, 0, 1, 1, 0};

  private static DenseStack dense(String name, int in, int out, String activation) {
    return new DenseStack(name, in,
        List.of(new DenseStack.Layer(out, Activations.named(activation).orElseThrow())));
  }

  private final DenseStack encoderA = dense("encoder_a", 4, 3, "tanh");
  private final DenseStack encoderB = dense("encoder_b", 2, 3, "softplus");
  private final DenseStack operation = dense("operation", 3, 3, "tanh");
  private final DenseStack head = dense("head", 3, 2, "identity");

  private List<OutputGraph> outputs() {
    return List.of(new OutputGraph("head", List.of(head), Loss.SOFTMAX_CROSS_ENTROPY, "y", 1.0));
  }

  private TaskGraph routed() {
    return TaskGraph.withSteps("routed", null, List.of(
        new PathStep.Route("route", List.of(new Branch("a", List.of(encoderA)),
            new Branch("b", List.of(encoderB)))),
        new PathStep.Single(operation)), outputs(), ROWS);
  }

  private Map<String, INDArray> parameters(TaskGraph... tasks) {
    ModelGraph graph = new ModelGraph(Map.of("encoder_a", encoderA, "encoder_b", encoderB,
        "operation", operation, "head", head), List.of(tasks));
    Map<String, INDArray> parameters = ModelParameters.initial(graph, 5, DataType.DOUBLE);
    parameters.values().forEach(p -> p.addi(Nd4j.rand(DataType.DOUBLE, p.length()).muli(0.1)));
    return parameters;
  }

  private static Batch batch(int[] rows) {
    Nd4j.getRandom().setSeed(17);
    INDArray a = Nd4j.rand(DataType.DOUBLE, ROWS, 4).subi(0.5);
    INDArray b = Nd4j.rand(DataType.DOUBLE, ROWS, 2).subi(0.5);
    INDArray route = Nd4j.zeros(DataType.DOUBLE, ROWS, 2);
    INDArray y = Nd4j.zeros(DataType.DOUBLE, ROWS, 2);
    for (int i = 0; i < ROWS; i++) {
      route.putScalar(i, ROUTES[i], 1);
      y.putScalar(i, (i * 5 + 1) % 2, 1);
    }
    Map<String, INDArray> fields = new LinkedHashMap<>();
    for (var entry : Map.of("a", a, "b", b, "route", route, "y", y).entrySet()) {
      fields.put(entry.getKey(), Nd4j.pullRows(entry.getValue(), 1, rows));
    }
    return new Batch(rows.length, fields);
  }

  private static Map<String, INDArray> zeros(Map<String, INDArray> parameters) {
    return ModelParameters.zerosLike(parameters);
  }

  @Test
  void routedGradientIsTheSumOfPerRouteTaskGradients() {
    TaskGraph routed = routed();
    TaskGraph taskA = new TaskGraph("a", "a", List.of(encoderA, operation), outputs(), ROWS);
    TaskGraph taskB = new TaskGraph("b", "b", List.of(encoderB, operation), outputs(), ROWS);
    Map<String, INDArray> parameters = parameters(routed, taskA, taskB);
    int[] all = {0, 1, 2, 3, 4, 5, 6};
    int[] rowsA = {0, 2, 3, 6};
    int[] rowsB = {1, 4, 5};

    Map<String, INDArray> routedGradients = zeros(parameters);
    new TaskProgram(routed, DataType.DOUBLE).computeGradients(parameters, batch(all),
        routedGradients);
    Map<String, INDArray> gradientsA = zeros(parameters);
    new TaskProgram(taskA, DataType.DOUBLE).computeGradients(parameters, batch(rowsA),
        gradientsA);
    Map<String, INDArray> gradientsB = zeros(parameters);
    new TaskProgram(taskB, DataType.DOUBLE).computeGradients(parameters, batch(rowsB),
        gradientsB);

    // Losses are batch means: the routed batch's gradient is the per-route gradients weighted by
    // each route's share of the batch.
    for (String module : parameters.keySet()) {
      INDArray expected = gradientsA.get(module).mul(rowsA.length / (double) ROWS)
          .addi(gradientsB.get(module).mul(rowsB.length / (double) ROWS));
      assertArrayEquals(expected, routedGradients.get(module), module);
    }
    assertEquals(0, gradientsA.get("encoder_b").norm1Number().doubleValue(), 0);
  }

  @Test
  void routedGradientMatchesNumerical() {
    checkNumerically(routed());
  }

  @Test
  void mergeGradientsMatchNumerical() {
    DenseStack encoderC = dense("encoder_a", 4, 3, "tanh");
    for (boolean sum : new boolean[] {true, false}) {
      DenseStack headIn = dense("head", sum ? 3 : 6, 2, "identity");
      TaskGraph merged = TaskGraph.withSteps("merged", "a", List.of(
          new PathStep.Merge(List.of(new Branch(null, List.of(encoderC)),
              new Branch("b", List.of(encoderB))), sum)),
          List.of(new OutputGraph("head", List.of(headIn), Loss.SOFTMAX_CROSS_ENTROPY, "y", 1)),
          ROWS);
      ModelGraph graph = new ModelGraph(Map.of("encoder_a", encoderC, "encoder_b", encoderB,
          "head", headIn), List.of(merged));
      checkNumerically(merged, ModelParameters.initial(graph, 9, DataType.DOUBLE));
    }
  }

  private void checkNumerically(TaskGraph task) {
    checkNumerically(task, parameters(task));
  }

  private static void checkNumerically(TaskGraph task, Map<String, INDArray> parameters) {
    TaskProgram program = new TaskProgram(task, DataType.DOUBLE);
    Batch batch = batch(new int[] {0, 1, 2, 3, 4, 5, 6});
    Map<String, INDArray> gradients = new HashMap<>(zeros(parameters));
    program.computeGradients(parameters, batch, gradients);
    Map<String, INDArray> scratch = zeros(parameters);
    for (Module module : task.path()) {
      GradientCheck.assertGradient(module.name(), parameters.get(module.name()),
          gradients.get(module.name()),
          () -> program.computeGradients(parameters, batch, scratch).loss(), 1e-5);
    }
  }

  private static void assertArrayEquals(INDArray expected, INDArray actual, String what) {
    org.junit.jupiter.api.Assertions.assertArrayEquals(expected.toDoubleVector(),
        actual.toDoubleVector(), 1e-12, what);
  }

  @Test
  void predictionsOfEverNewBatchSizesKeepTheBufferCachesBoundedAndStayRight() {
    TaskGraph task = routed();
    Map<String, INDArray> parameters = parameters(task);
    TaskProgram program = new TaskProgram(task, DataType.DOUBLE);
    int sizes = 2 * PathRunner.CACHED_ROW_COUNTS + 10;
    for (int size = 1; size <= sizes; size++) {
      program.predict(parameters, replicated(size));
    }
    org.junit.jupiter.api.Assertions.assertTrue(
        program.cachedBatchSizes() <= TaskProgram.CACHED_BATCH_SIZES,
        () -> program.cachedBatchSizes() + " batch sizes cached");
    org.junit.jupiter.api.Assertions.assertTrue(
        program.cachedRowCounts() <= PathRunner.CACHED_ROW_COUNTS,
        () -> program.cachedRowCounts() + " row counts cached");
    // A size whose buffers were dropped long ago predicts what a fresh program predicts.
    Batch first = replicated(3);
    INDArray again = program.predict(parameters, first).get("head").dup();
    INDArray fresh = new TaskProgram(task, DataType.DOUBLE).predict(parameters, first).get("head");
    assertEquals(fresh, again);
  }

  /** {@code size} rows cycling through the seven rows of {@link #batch}. */
  private static Batch replicated(int size) {
    int[] rows = new int[size];
    for (int i = 0; i < size; i++) {
      rows[i] = i % ROWS;
    }
    return batch(rows);
  }
}
