package tandem.model.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import tandem.model.data.Batch;
import tandem.model.loss.Loss;
import tandem.model.module.Activations;
import tandem.model.module.DenseStack;
import tandem.model.module.Embedding;
import tandem.model.module.Module;
import tandem.model.module.SequenceDecoder;
import tandem.model.spec.OutputGraph;
import tandem.model.spec.TaskGraph;
import tandem.model.train.ModelParameters;
import tandem.model.train.StepResult;
import tandem.model.train.TaskProgram;

/**
 * The fused CPU path against its ND4J twin, piece by piece (matrix products, each module, each
 * fused loss, a whole task step), within 1e-5 relative to the largest value compared, and its
 * gradients against central differences. Float throughout: the fused path is float only.
 */
class FusedPathTest {

  private static final double TOLERANCE = 1e-5;

  @Test
  void fusedIsTheDefaultOnTheCpuBackendAndNd4jCanBeForced() {
    INDArray floats = Nd4j.create(DataType.FLOAT, 3, 4);
    assertEquals(Kernels.Path.FUSED, Kernels.path());
    assertTrue(Kernels.fused(floats));
    assertFalse(Kernels.using(Kernels.Path.ND4J, () -> Kernels.fused(floats)));
    assertFalse(Kernels.fused(Nd4j.create(DataType.DOUBLE, 3, 4)));
    // Every other column: not one block of memory.
    assertFalse(Kernels.fused(floats.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 2, 4))));
  }

  @Test
  void gemmMatchesNd4jForEveryOrderAndTransposeOnOffsetViews() {
    Nd4j.getRandom().setSeed(1);
    for (char orderA : new char[] {'c', 'f'}) {
      for (char orderB : new char[] {'c', 'f'}) {
        for (boolean transA : new boolean[] {false, true}) {
          for (boolean transB : new boolean[] {false, true}) {
            INDArray a = offsetView(transA ? new long[] {7, 5} : new long[] {5, 7}, orderA);
            INDArray b = offsetView(transB ? new long[] {3, 7} : new long[] {7, 3}, orderB);
            INDArray expected = Nd4j.create(DataType.FLOAT, new long[] {5, 3}, 'f');
            expected.assign(1);
            INDArray actual = expected.dup('f');
            Nd4j.gemm(a, b, expected, transA, transB, 0.5, 2.0);
            Kernels.gemm(a, transA, b, transB, actual, 0.5f, 2.0f);
            assertClose(orderA + "" + orderB + transA + transB, expected, actual);
          }
        }
      }
    }
  }

  @Test
  void inPlaceAddMultiplyAndDivideEqualNd4jBitForBitAcrossChunksAndOnOffsetViews() {
    Nd4j.getRandom().setSeed(3);
    for (int length : new int[] {1, 7, 8191, 8192, 8193, 20_000}) {
      // A row of a matrix: an array that starts at an offset into its buffer.
      INDArray target = Nd4j.rand(DataType.FLOAT, 3, length).getRow(1);
      INDArray source = Nd4j.rand(DataType.FLOAT, 2, length).getRow(1).subi(0.5f);
      assertTrue(Kernels.fused(target, source));
      INDArray expected = target.dup();
      expected.addi(source).muli(0.3).divi(3);
      INDArray actual = target.dup();
      InPlace.add(actual, source);
      InPlace.multiply(actual, 0.3);
      InPlace.divide(actual, 3);
      assertArrayEquals(expected.toFloatVector(), actual.toFloatVector(), "length " + length);
      INDArray viaNd4j = Kernels.using(Kernels.Path.ND4J, () -> {
        INDArray sum = target.dup();
        InPlace.add(sum, source);
        return sum;
      });
      assertArrayEquals(target.dup().addi(source).toFloatVector(), viaNd4j.toFloatVector());
    }
    // A strided column: not contiguous, so ND4J's ops, with the same result.
    INDArray matrix = Nd4j.rand(DataType.FLOAT, 4, 3);
    INDArray column = matrix.getColumn(1);
    assertFalse(Kernels.fused(column));
    INDArray expected = column.dup().addi(column).divi(2);
    InPlace.add(column, column.dup());
    InPlace.divide(column, 2);
    assertArrayEquals(expected.toFloatVector(), column.toFloatVector());
    assertArrayEquals(expected.toFloatVector(), matrix.getColumn(1).toFloatVector());
  }

  @Test
  void rowsEqualNd4jsFloatMatrixInEveryOrderAndOnBothPaths() {
    Nd4j.getRandom().setSeed(4);
    for (char order : new char[] {'c', 'f'}) {
      INDArray matrix = Nd4j.rand(DataType.FLOAT, 37, 5).dup(order);
      float[][] expected = matrix.toFloatMatrix();
      float[][] fused = Kernels.rows(matrix);
      float[][] nd4j = Kernels.using(Kernels.Path.ND4J, () -> Kernels.rows(matrix));
      float[][] fromDoubles = Kernels.rows(matrix.castTo(DataType.DOUBLE));
      for (int r = 0; r < expected.length; r++) {
        assertArrayEquals(expected[r], fused[r], order + " row " + r);
        assertArrayEquals(expected[r], nd4j[r], order + " row " + r);
        assertArrayEquals(expected[r], fromDoubles[r], order + " row " + r);
      }
      assertEquals(expected.length, fused.length);
    }
    // A row of a larger matrix, as a [1, n] view at an offset.
    INDArray view = Nd4j.rand(DataType.FLOAT, 3, 6).get(NDArrayIndex.interval(1, 2),
        NDArrayIndex.all());
    assertArrayEquals(view.toFloatMatrix()[0], Kernels.rows(view)[0]);
  }

  @Test
  void tanhApproximationIsWithinFourTenMillionthsOfMathTanh() {
    double worst = 0;
    for (float x = -12f; x <= 12f; x += 1e-4f) {
      worst = Math.max(worst, Math.abs(FusedActivation.tanh(x) - Math.tanh(x)));
    }
    assertTrue(worst < 4e-7, "max |error| " + worst);
  }

  @Test
  void denseStackMatchesNd4jForEveryFusedActivationAndInputOrder() {
    for (String[] chain : new String[][] {{"tanh", "relu", "identity"}, {"sigmoid", "leakyrelu"},
        {"identity"}}) {
      for (char inputOrder : new char[] {'c', 'f'}) {
        DenseStack dense = stack(chain);
        INDArray parameters = Nd4j.create(DataType.FLOAT, dense.parameterCount());
        dense.initializeInPlace(parameters, 7);
        parameters.addi(Nd4j.rand(DataType.FLOAT, 1, parameters.length())
            .reshape(parameters.length()).subi(0.5).muli(0.2));
        INDArray input = Nd4j.rand(DataType.FLOAT, 6, 4).subi(0.5).dup(inputOrder);
        INDArray epsilon = Nd4j.rand(DataType.FLOAT, 6, dense.outputSize()).subi(0.5);
        String what = String.join("/", chain) + " " + inputOrder;
        List<INDArray> fused = denseStep(dense, parameters, input, epsilon);
        List<INDArray> nd4j = Kernels.using(Kernels.Path.ND4J,
            () -> denseStep(dense, parameters, input, epsilon));
        for (int i = 0; i < fused.size(); i++) {
          assertClose(what + " result " + i, nd4j.get(i), fused.get(i));
        }
      }
    }
  }

  /** Output, parameter gradient (added onto ones) and input gradient of one pass each way. */
  private static List<INDArray> denseStep(DenseStack dense, INDArray parameters, INDArray input,
      INDArray epsilon) {
    Module.Buffers buffers = dense.createBuffers(6, DataType.FLOAT);
    INDArray output = dense.forward(parameters, input, buffers).dup();
    INDArray gradient = Nd4j.ones(DataType.FLOAT, dense.parameterCount());
    INDArray inputGradient = dense.backward(parameters, epsilon, buffers, gradient, true).dup();
    return List.of(output, gradient, inputGradient);
  }

  @Test
  void denseStackGradientsMatchNumericalOnTheFusedPath() {
    DenseStack dense = stack("tanh", "sigmoid", "relu");
    INDArray parameters = Nd4j.create(DataType.FLOAT, dense.parameterCount());
    dense.initializeInPlace(parameters, 3);
    assertGradientsNumerical(dense, parameters, Nd4j.rand(DataType.FLOAT, 3, 4).subi(0.5));
  }

  /**
   * {@code module}'s parameter and input gradients of a weighted sum of its output, on the path
   * in force, against central differences.
   */
  private static void assertGradientsNumerical(Module module, INDArray parameters,
      INDArray input) {
    int batch = (int) input.size(0);
    INDArray weights = Nd4j.rand(DataType.FLOAT, batch, module.outputSize()).subi(0.5);
    Module.Buffers buffers = module.createBuffers(batch, DataType.FLOAT);
    module.forward(parameters, input, buffers);
    INDArray gradient = Nd4j.zeros(DataType.FLOAT, module.parameterCount());
    INDArray inputGradient = module.backward(parameters, weights, buffers, gradient, true).dup();
    Supplier<Double> loss = () -> weightedSum(
        module.forward(parameters, input, module.createBuffers(batch, DataType.FLOAT)), weights);
    assertGradientFloat("parameters", parameters, gradient, loss);
    assertGradientFloat("input", input, inputGradient, loss);
  }

  @Test
  void embeddingMatchesNd4jWithRepeatedIdsAndItsGradientIsNumerical() {
    Embedding embedding = new Embedding("e", List.of(new Embedding.Table(6, 3, 2),
        new Embedding.Table(4, 2, 2)));
    INDArray parameters = Nd4j.create(DataType.FLOAT, embedding.parameterCount());
    embedding.initializeInPlace(parameters, 5);
    // Id 1 of the first table three times, 5 twice; columns 2-3 read the second table.
    INDArray ids = Nd4j.createFromArray(new float[][] {{1, 5, 0, 3}, {1, 1, 2, 2},
        {5, 4, 3, 0}}).dup('f');
    INDArray epsilon = Nd4j.rand(DataType.FLOAT, 3, embedding.outputSize()).subi(0.5);
    Supplier<List<INDArray>> step = () -> {
      Module.Buffers buffers = embedding.createBuffers(3, DataType.FLOAT);
      INDArray output = embedding.forward(parameters, ids, buffers).dup();
      INDArray gradient = Nd4j.ones(DataType.FLOAT, embedding.parameterCount());
      assertNull(embedding.backward(parameters, epsilon, buffers, gradient, false));
      return List.of(output, gradient);
    };
    List<INDArray> fused = step.get();
    List<INDArray> nd4j = Kernels.using(Kernels.Path.ND4J, step);
    assertClose("output", nd4j.get(0), fused.get(0));
    assertClose("gradient", nd4j.get(1), fused.get(1));
    Supplier<Double> loss = () -> weightedSum(embedding.forward(parameters, ids,
        embedding.createBuffers(3, DataType.FLOAT)), epsilon);
    assertGradientFloat("tables", parameters, fused.get(1).sub(1), loss);
  }

  @Test
  void sequenceDecoderMatchesNd4jInEveryOrderAndItsGradientIsNumerical() {
    SequenceDecoder decoder = new SequenceDecoder("d", 3, 4, 5, 3);
    INDArray parameters = Nd4j.create(DataType.FLOAT, decoder.parameterCount());
    decoder.initializeInPlace(parameters, 11);
    parameters.addi(Nd4j.rand(DataType.FLOAT, 1, parameters.length())
        .reshape(parameters.length()).subi(0.5).muli(0.2));
    for (char inputOrder : new char[] {'c', 'f'}) {
      for (char gradientOrder : new char[] {'c', 'f'}) {
        INDArray input = Nd4j.rand(DataType.FLOAT, 2, 3).subi(0.5).dup(inputOrder);
        INDArray epsilon = Nd4j.rand(DataType.FLOAT, 2, decoder.outputSize()).subi(0.5)
            .dup(gradientOrder);
        Supplier<List<INDArray>> step = () -> {
          Module.Buffers buffers = decoder.createBuffers(2, DataType.FLOAT);
          INDArray output = decoder.forward(parameters, input, buffers).dup();
          INDArray gradient = Nd4j.ones(DataType.FLOAT, decoder.parameterCount());
          INDArray inputGradient = decoder.backward(parameters, epsilon, buffers, gradient, true)
              .dup();
          return List.of(output, gradient, inputGradient);
        };
        List<INDArray> fused = step.get();
        List<INDArray> nd4j = Kernels.using(Kernels.Path.ND4J, step);
        String what = "input " + inputOrder + ", gradient " + gradientOrder;
        assertClose(what + ": output", nd4j.get(0), fused.get(0));
        assertClose(what + ": parameter gradient", nd4j.get(1), fused.get(1));
        assertClose(what + ": input gradient", nd4j.get(2), fused.get(2));
      }
    }
    assertGradientsNumerical(decoder, parameters, Nd4j.rand(DataType.FLOAT, 2, 3).subi(0.5));
  }

  @Test
  void fusedLossesMatchNd4jInBothGradientOrdersWithAWeight() {
    Nd4j.getRandom().setSeed(9);
    INDArray logits = Nd4j.rand(DataType.FLOAT, 5, 4).subi(0.5).muli(6).dup('f');
    INDArray classes = Nd4j.createFromArray(new float[][] {{1, 0, 0, 0}, {0, 0, 0, 1},
        {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}});
    INDArray values = Nd4j.rand(DataType.FLOAT, 5, 4);
    INDArray bits = Nd4j.createFromArray(new float[][] {{1, 0, 0, 1}, {0, 0, 0, 1},
        {1, 1, 0, 0}, {0, 0, 1, 0}, {1, 1, 1, 1}});
    for (Loss loss : List.of(Loss.SOFTMAX_CROSS_ENTROPY, Loss.SIGMOID_CROSS_ENTROPY, Loss.MSE)) {
      INDArray labels = loss == Loss.MSE ? values
          : loss == Loss.SIGMOID_CROSS_ENTROPY ? bits : classes;
      for (char order : new char[] {'c', 'f'}) {
        INDArray fusedGradient = Nd4j.create(DataType.FLOAT, new long[] {5, 4}, order);
        INDArray nd4jGradient = Nd4j.create(DataType.FLOAT, new long[] {5, 4}, order);
        double fused = loss.scoreAndGradient(labels, logits, 0.5, fusedGradient);
        double nd4j = Kernels.using(Kernels.Path.ND4J,
            () -> loss.scoreAndGradient(labels, logits, 0.5, nd4jGradient));
        assertEquals(nd4j, fused, TOLERANCE * Math.abs(nd4j), loss.specName());
        assertClose(loss.specName() + " " + order, nd4jGradient, fusedGradient);
        assertGradientFloat(loss.specName(), logits, fusedGradient.mul(2),
            () -> loss.scoreAndGradient(labels, logits, 1.0,
                Nd4j.create(DataType.FLOAT, new long[] {5, 4}, order)));
      }
    }
  }

  @Test
  void fusedSequenceCrossEntropyGradientIsNumericalWithPaddingInBothOrders() {
    Nd4j.getRandom().setSeed(17);
    int steps = 3;
    int vocabulary = 4;
    // Id 0 is padding: the end of example 0, all of example 2.
    INDArray labels = Nd4j.createFromArray(new float[][] {{2, 1, 0}, {3, 3, 1}, {0, 0, 0}});
    Loss loss = Loss.SEQUENCE_SOFTMAX_CROSS_ENTROPY;
    for (char order : new char[] {'c', 'f'}) {
      INDArray logits = Nd4j.rand(DataType.FLOAT, 3, steps * vocabulary).subi(0.5).muli(4)
          .dup(order);
      INDArray gradient = Nd4j.create(DataType.FLOAT, new long[] {3, steps * vocabulary}, order);
      loss.scoreAndGradient(labels, logits, 0.5, gradient);
      assertGradientFloat("sequence " + order, logits, gradient.mul(2),
          () -> loss.scoreAndGradient(labels, logits, 1.0,
              Nd4j.create(DataType.FLOAT, new long[] {3, steps * vocabulary}, order)));
    }
  }

  @Test
  void sigmoidCrossEntropyClipsSaturatedUnitsLikeNd4j() {
    // Units at +-20: sigmoid within 2e-9 of 0 or 1, clipped to 1e-5 away, in loss and gradient.
    INDArray logits = Nd4j.createFromArray(new float[][] {{20, -20, 0.5f}, {-20, 20, -1}})
        .dup('f');
    INDArray labels = Nd4j.createFromArray(new float[][] {{0, 0, 1}, {0, 1, 1}});
    INDArray fusedGradient = Nd4j.create(DataType.FLOAT, new long[] {2, 3}, 'f');
    INDArray nd4jGradient = Nd4j.create(DataType.FLOAT, new long[] {2, 3}, 'f');
    double fused = Loss.SIGMOID_CROSS_ENTROPY.scoreAndGradient(labels, logits, 1, fusedGradient);
    double nd4j = Kernels.using(Kernels.Path.ND4J, () -> Loss.SIGMOID_CROSS_ENTROPY
        .scoreAndGradient(labels, logits, 1, nd4jGradient));
    assertEquals(nd4j, fused, TOLERANCE * nd4j);
    assertClose("gradient", nd4jGradient, fusedGradient);
  }

  @Test
  void softmaxCrossEntropyClipsVanishingProbabilitiesLikeNd4j() {
    INDArray logits = Nd4j.createFromArray(new float[][] {{60, 0}, {0, 0}}).dup('f');
    INDArray labels = Nd4j.createFromArray(new float[][] {{0, 1}, {1, 0}});
    INDArray gradient = Nd4j.create(DataType.FLOAT, new long[] {2, 2}, 'f');
    double fused = Loss.SOFTMAX_CROSS_ENTROPY.scoreAndGradient(labels, logits, 1, gradient);
    double nd4j = Loss.SOFTMAX_CROSS_ENTROPY.score(labels, logits);
    // Row 1's probability of its label is e^-60, clipped to 1e-10 before the log.
    assertEquals(nd4j, fused, 1e-5 * nd4j);
    assertEquals((-Math.log(1e-10) + Math.log(2)) / 2, fused, 1e-4);
  }

  @Test
  void aTaskStepWithTwoOutputsMatchesNd4j() {
    DenseStack trunk = dense("trunk", 4, 6, "tanh");
    TaskGraph task = new TaskGraph("t", "x", List.of(trunk), List.of(
        new OutputGraph("classes", List.of(dense("classes_hidden", 6, 5, "relu"),
            dense("classes", 5, 3, "identity")), Loss.SOFTMAX_CROSS_ENTROPY, "y", 1.0),
        new OutputGraph("value", List.of(dense("value", 6, 2, "identity")), Loss.MSE, "v",
            0.5)), 4);
    Map<String, INDArray> fields = new LinkedHashMap<>();
    fields.put("x", Nd4j.rand(DataType.FLOAT, 4, 4).subi(0.5));
    fields.put("y", Nd4j.createFromArray(new float[][] {{1, 0, 0}, {0, 0, 1}, {0, 1, 0},
        {0, 0, 1}}));
    fields.put("v", Nd4j.rand(DataType.FLOAT, 4, 2));
    assertStepMatchesNd4j(task, new Batch(4, fields));
  }

  @Test
  void mergesAndRoutesMatchNd4j() {
    DenseStack encoderA = dense("encoder_a", 4, 3, "tanh");
    DenseStack encoderB = dense("encoder_b", 2, 3, "relu");
    Map<String, INDArray> fields = new LinkedHashMap<>();
    fields.put("a", Nd4j.rand(DataType.FLOAT, 5, 4).subi(0.5));
    fields.put("b", Nd4j.rand(DataType.FLOAT, 5, 2).subi(0.5));
    fields.put("route", Nd4j.createFromArray(new float[][] {{1, 0}, {0, 1}, {0, 1}, {1, 0},
        {0, 1}}));
    fields.put("y", Nd4j.createFromArray(new float[][] {{1, 0}, {0, 1}, {0, 1}, {1, 0},
        {1, 0}}));
    Batch batch = new Batch(5, fields);
    List<TaskGraph> tasks = new ArrayList<>();
    for (boolean sum : new boolean[] {true, false}) {
      // Two branches continue from a module before the merge, so their input gradients add up
      // there; the third reads a field of its own.
      DenseStack before = dense("before", 4, 4, "sigmoid");
      DenseStack encoderC = dense("encoder_c", 4, 3, "relu");
      DenseStack head = dense("head", sum ? 3 : 9, 2, "identity");
      tasks.add(TaskGraph.withSteps(sum ? "sum" : "concat", "a", List.of(
          new tandem.model.spec.PathStep.Single(before),
          new tandem.model.spec.PathStep.Merge(List.of(
              new tandem.model.spec.Branch(null, List.of(encoderA)),
              new tandem.model.spec.Branch(null, List.of(encoderC)),
              new tandem.model.spec.Branch("b", List.of(encoderB))), sum)),
          List.of(new OutputGraph("head", List.of(head), Loss.SOFTMAX_CROSS_ENTROPY, "y", 1)),
          5));
    }
    DenseStack headRouted = dense("head", 3, 2, "identity");
    tasks.add(TaskGraph.withSteps("routed", null, List.of(
        new tandem.model.spec.PathStep.Route("route", List.of(
            new tandem.model.spec.Branch("a", List.of(encoderA)),
            new tandem.model.spec.Branch("b", List.of(encoderB))))),
        List.of(new OutputGraph("head", List.of(headRouted), Loss.SOFTMAX_CROSS_ENTROPY, "y", 1)),
        5));
    for (TaskGraph task : tasks) {
      assertStepMatchesNd4j(task, batch);
    }
  }

  /** One step of {@code task} on {@code batch}, from initial parameters, both paths. */
  private static void assertStepMatchesNd4j(TaskGraph task, Batch batch) {
    Map<String, INDArray> parameters = new LinkedHashMap<>();
    long seed = 1;
    for (Module module : modules(task)) {
      INDArray flat = Nd4j.create(DataType.FLOAT, module.parameterCount());
      module.initializeInPlace(flat, seed++);
      parameters.put(module.name(), flat);
    }
    Map<String, INDArray> fusedGradients = ModelParameters.zerosLike(parameters);
    Map<String, INDArray> nd4jGradients = ModelParameters.zerosLike(parameters);
    StepResult fused = new TaskProgram(task, DataType.FLOAT)
        .computeGradients(parameters, batch, fusedGradients);
    StepResult nd4j = Kernels.using(Kernels.Path.ND4J, () -> new TaskProgram(task,
        DataType.FLOAT).computeGradients(parameters, batch, nd4jGradients));
    assertEquals(nd4j.loss(), fused.loss(), TOLERANCE * nd4j.loss(), task.name());
    for (String module : parameters.keySet()) {
      assertClose(task.name() + " " + module, nd4jGradients.get(module),
          fusedGradients.get(module));
    }
  }

  private static List<Module> modules(TaskGraph task) {
    Map<String, Module> modules = new LinkedHashMap<>();
    task.path().forEach(module -> modules.putIfAbsent(module.name(), module));
    task.outputs().forEach(output -> output.modules()
        .forEach(module -> modules.putIfAbsent(module.name(), module)));
    return new ArrayList<>(modules.values());
  }

  private static DenseStack dense(String name, int in, int out, String activation) {
    return new DenseStack(name, in,
        List.of(new DenseStack.Layer(out, Activations.named(activation).orElseThrow())));
  }

  private static DenseStack stack(String... activations) {
    int[] sizes = {5, 3, 2};
    List<DenseStack.Layer> layers = new ArrayList<>();
    for (int i = 0; i < activations.length; i++) {
      layers.add(new DenseStack.Layer(sizes[i], Activations.named(activations[i]).orElseThrow()));
    }
    return new DenseStack("stack", 4, layers);
  }

  /** A [rows, columns] float array in {@code order} that starts 3 floats into its buffer. */
  private static INDArray offsetView(long[] shape, char order) {
    long length = shape[0] * shape[1];
    INDArray flat = Nd4j.rand(DataType.FLOAT, 1, length + 3).reshape(length + 3).subi(0.5);
    return flat.get(NDArrayIndex.interval(3, length + 3)).reshape(order, shape[0], shape[1]);
  }

  private static double weightedSum(INDArray output, INDArray weights) {
    double[] o = output.dup('c').data().asDouble();
    double[] w = weights.dup('c').data().asDouble();
    double sum = 0;
    for (int i = 0; i < o.length; i++) {
      sum += o[i] * w[i];
    }
    return sum;
  }

  /** Max |expected - actual| within 1e-5 of max |expected|. */
  private static void assertClose(String what, INDArray expected, INDArray actual) {
    assertEquals(java.util.Arrays.toString(expected.shape()),
        java.util.Arrays.toString(actual.shape()), what + ": shape");
    double[] e = expected.dup('c').data().asDouble();
    double[] a = actual.dup('c').data().asDouble();
    double scale = 0;
    double error = 0;
    for (int i = 0; i < e.length; i++) {
      scale = Math.max(scale, Math.abs(e[i]));
      error = Math.max(error, Math.abs(e[i] - a[i]));
    }
    assertTrue(error <= TOLERANCE * Math.max(scale, 1e-6),
        what + ": max |difference| " + error + " against max |value| " + scale);
  }

  /**
   * Central differences in float: a step of 1e-2 keeps float round-off (about 1e-7 of the loss)
   * far below the step's effect, and the truncation error (step squared) near 1e-4, so entries
   * must agree within 1% of the largest gradient entry.
   */
  private static void assertGradientFloat(String what, INDArray variable, INDArray analytic,
      Supplier<Double> loss) {
    float step = 1e-2f;
    // Flat in the variable's own order, so that the reshape is a view and not a copy.
    INDArray flatVariable = variable.reshape(variable.ordering(), new long[] {variable.length()});
    double[] computed = analytic.dup(variable.ordering()).data().asDouble();
    double scale = 0;
    for (double value : computed) {
      scale = Math.max(scale, Math.abs(value));
    }
    for (long i = 0; i < flatVariable.length(); i++) {
      float original = flatVariable.getFloat(i);
      flatVariable.putScalar(i, original + step);
      double plus = loss.get();
      flatVariable.putScalar(i, original - step);
      double minus = loss.get();
      flatVariable.putScalar(i, original);
      double numeric = (plus - minus) / (2 * step);
      assertTrue(Math.abs(numeric - computed[(int) i]) <= 1e-2 * scale,
          what + "[" + i + "]: analytic " + computed[(int) i] + ", numeric " + numeric);
    }
  }
}
