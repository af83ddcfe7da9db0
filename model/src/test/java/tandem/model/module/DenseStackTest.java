package tandem.model.module;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.model.GradientCheck;

class DenseStackTest {

  private static DenseStack stack(String... activations) {
    int[] sizes = {5, 3, 2};
    List<DenseStack.Layer> layers = new java.util.ArrayList<>();
    for (int i = 0; i < activations.length; i++) {
      layers.add(new DenseStack.Layer(sizes[i], Activations.named(activations[i]).orElseThrow()));
    }
    return new DenseStack("stack", 4, layers);
  }

  @Test
  void forwardMatchesHandComputedLayer() {
    DenseStack dense = new DenseStack("d", 2,
        List.of(new DenseStack.Layer(2, Activations.named("relu").orElseThrow())));
    // W = [[1, 2], [3, 4]] (rows = inputs) stored column-major, then b = [0.5, -10].
    INDArray params = Nd4j.createFromArray(1.0, 3.0, 2.0, 4.0, 0.5, -10.0);
    INDArray input = Nd4j.createFromArray(new double[][] {{1, 1}, {2, 0}});
    INDArray out = dense.forward(params, input, dense.createBuffers(2, DataType.DOUBLE));
    // row 1: [1+3+0.5, 2+4-10] -> relu -> [4.5, 0]; row 2: [2+0.5, 4-10] -> [2.5, 0]
    assertArrayEquals(new double[] {4.5, 0, 2.5, 0}, out.dup('c').data().asDouble(), 1e-12);
  }

  @Test
  void gradientsMatchNumericalForEveryActivationChain() {
    for (String[] chain : new String[][] {{"tanh", "sigmoid", "identity"}, {"relu", "elu"},
        {"softplus", "swish", "leakyrelu"}, {"identity"}}) {
      checkGradients(stack(chain));
    }
  }

  private static void checkGradients(DenseStack dense) {
    int batch = 3;
    INDArray params = Nd4j.create(DataType.DOUBLE, dense.parameterCount());
    dense.initializeInPlace(params, 42);
    params.addi(Nd4j.rand(DataType.DOUBLE, params.length()).muli(0.1));
    INDArray input = Nd4j.rand(DataType.DOUBLE, batch, 4).subi(0.5);
    INDArray weights = Nd4j.rand(DataType.DOUBLE, batch, dense.outputSize()).subi(0.5);
    Module.Buffers buffers = dense.createBuffers(batch, DataType.DOUBLE);
    // loss = sum(output * weights): dLoss/dOutput = weights.
    java.util.function.DoubleSupplier loss = () -> dense.forward(params, input,
        dense.createBuffers(batch, DataType.DOUBLE)).mul(weights).sumNumber().doubleValue();
    dense.forward(params, input, buffers);
    INDArray gradient = Nd4j.zeros(DataType.DOUBLE, dense.parameterCount());
    INDArray inputGradient = dense.backward(params, weights, buffers, gradient, true).dup();
    GradientCheck.assertGradient("params", params, gradient, loss, 1e-5);
    GradientCheck.assertGradient("input", input, inputGradient, loss, 1e-5);
  }

  @Test
  void backwardAccumulatesIntoTheGradientAndSkipsUnneededInputGradient() {
    DenseStack dense = stack("tanh", "identity");
    INDArray params = Nd4j.create(DataType.DOUBLE, dense.parameterCount());
    dense.initializeInPlace(params, 1);
    INDArray input = Nd4j.rand(DataType.DOUBLE, 2, 4);
    Module.Buffers buffers = dense.createBuffers(2, DataType.DOUBLE);
    INDArray epsilon = Nd4j.ones(DataType.DOUBLE, 2, 3);
    dense.forward(params, input, buffers);
    INDArray once = Nd4j.zeros(DataType.DOUBLE, dense.parameterCount());
    dense.backward(params, epsilon, buffers, once, true);
    dense.forward(params, input, buffers);
    INDArray twice = once.dup();
    assertNull(dense.backward(params, epsilon, buffers, twice, false));
    assertEquals(once.mul(2), twice);
  }

  @Test
  void layerViewsFollowWhicheverBufferIsPassedAndItsWrites() {
    // The stack keeps views of the buffers it saw; more buffers than it keeps, in turn, with
    // writes in between, must each give what a fresh stack computes.
    DenseStack dense = stack("tanh", "identity");
    INDArray input = Nd4j.rand(DataType.DOUBLE, 2, 4);
    INDArray epsilon = Nd4j.rand(DataType.DOUBLE, 2, 3);
    List<INDArray> buffers = new java.util.ArrayList<>();
    for (int i = 0; i < 9; i++) {
      INDArray params = Nd4j.create(DataType.DOUBLE, dense.parameterCount());
      dense.initializeInPlace(params, i);
      buffers.add(params);
    }
    for (int round = 0; round < 3; round++) {
      for (INDArray params : buffers) {
        params.addi(0.01);
        DenseStack fresh = stack("tanh", "identity");
        Module.Buffers work = dense.createBuffers(2, DataType.DOUBLE);
        Module.Buffers freshWork = fresh.createBuffers(2, DataType.DOUBLE);
        assertEquals(fresh.forward(params, input, freshWork), dense.forward(params, input, work));
        INDArray gradient = Nd4j.zeros(DataType.DOUBLE, dense.parameterCount());
        INDArray freshGradient = Nd4j.zeros(DataType.DOUBLE, dense.parameterCount());
        dense.backward(params, epsilon, work, gradient, false);
        fresh.backward(params, epsilon, freshWork, freshGradient, false);
        assertEquals(freshGradient, gradient);
      }
    }
  }

  @Test
  void threadsSharingAStackEachGetTheirOwnBuffersViews() throws Exception {
    // Workers in async mode and request threads when serving share a module and its views.
    DenseStack dense = stack("tanh", "identity");
    INDArray input = Nd4j.rand(DataType.DOUBLE, 2, 4);
    List<INDArray> buffers = new java.util.ArrayList<>();
    List<INDArray> expected = new java.util.ArrayList<>();
    for (int i = 0; i < 10; i++) {
      INDArray params = Nd4j.create(DataType.DOUBLE, dense.parameterCount());
      dense.initializeInPlace(params, 100 + i);
      buffers.add(params);
      DenseStack fresh = stack("tanh", "identity");
      expected.add(fresh.forward(params, input, fresh.createBuffers(2, DataType.DOUBLE)).dup());
    }
    java.util.concurrent.ExecutorService threads =
        java.util.concurrent.Executors.newFixedThreadPool(2);
    try {
      List<java.util.concurrent.Future<?>> runs = new java.util.ArrayList<>();
      for (int t = 0; t < 2; t++) {
        int first = t * 5;
        runs.add(threads.submit(() -> {
          Module.Buffers work = dense.createBuffers(2, DataType.DOUBLE);
          for (int round = 0; round < 50; round++) {
            for (int i = first; i < first + 5; i++) {
              assertEquals(expected.get(i), dense.forward(buffers.get(i), input, work));
            }
          }
          return null;
        }));
      }
      for (java.util.concurrent.Future<?> run : runs) {
        run.get(60, java.util.concurrent.TimeUnit.SECONDS);
      }
    } finally {
      threads.shutdownNow();
    }
  }

  @Test
  void sameSeedGivesSameParameters() {
    DenseStack dense = stack("relu", "identity");
    INDArray a = Nd4j.create(DataType.FLOAT, dense.parameterCount());
    INDArray b = Nd4j.create(DataType.FLOAT, dense.parameterCount());
    dense.initializeInPlace(a, 7);
    dense.initializeInPlace(b, 7);
    assertEquals(a, b);
    assertEquals(4 * 5 + 5 + 5 * 3 + 3, dense.parameterCount());
  }

  @Test
  void rejectsWrongShapes() {
    DenseStack dense = stack("relu");
    INDArray params = Nd4j.create(DataType.DOUBLE, dense.parameterCount());
    Module.Buffers buffers = dense.createBuffers(2, DataType.DOUBLE);
    IllegalArgumentException wrongWidth = assertThrows(IllegalArgumentException.class,
        () -> dense.forward(params, Nd4j.zeros(DataType.DOUBLE, 2, 3), buffers));
    assertEquals("stack: expected input [2, 4], found [2, 3]", wrongWidth.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new DenseStack("bad", 0,
        List.of(new DenseStack.Layer(3, Activations.named("relu").orElseThrow()))));
    assertThrows(IllegalArgumentException.class, () -> new DenseStack("bad", 2,
        List.of(new DenseStack.Layer(-1, Activations.named("relu").orElseThrow()))));
  }
}
