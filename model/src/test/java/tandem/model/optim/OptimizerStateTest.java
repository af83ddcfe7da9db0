package tandem.model.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class OptimizerStateTest {

  @Test
  void sgdSubtractsLearningRateTimesGradient() {
    OptimizerState sgd = new OptimizerState(
        new OptimizerSettings("sgd", 0.1, 0, 0, 0, false), 2, DataType.DOUBLE);
    INDArray params = Nd4j.createFromArray(1.0, 2.0);
    sgd.applyInPlace(params, Nd4j.createFromArray(0.5, -1.0));
    assertArrayEquals(new double[] {0.95, 2.1}, params.toDoubleVector(), 1e-12);
  }

  @Test
  void adamFollowsKingmaAndBaForTwoSteps() {
    double lr = 0.01;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    OptimizerState adam = new OptimizerState(
        new OptimizerSettings("adam", lr, beta1, beta2, eps, false), 1, DataType.DOUBLE);
    INDArray params = Nd4j.createFromArray(1.0);
    double p = 1.0;
    double m = 0;
    double v = 0;
    double[] grads = {0.5, -0.2};
    for (int t = 1; t <= grads.length; t++) {
      double g = grads[t - 1];
      adam.applyInPlace(params, Nd4j.createFromArray(g));
      m = beta1 * m + (1 - beta1) * g;
      v = beta2 * v + (1 - beta2) * g * g;
      // ND4J folds the bias corrections into the step size (paper, section 2, last paragraph).
      double alpha = lr * Math.sqrt(1 - Math.pow(beta2, t)) / (1 - Math.pow(beta1, t));
      p -= alpha * m / (Math.sqrt(v) + eps);
      assertEquals(p, params.getDouble(0), 1e-9, "step " + t);
    }
    assertEquals(2, adam.iteration());
  }

  @Test
  void floatAdamAndSgdMatchNd4jsUpdatersOverManySteps() {
    for (String name : java.util.List.of("adam", "sgd")) {
      OptimizerSettings settings = new OptimizerSettings(name, 0.01, 0.9, 0.999, 1e-8, false);
      int n = 1000;
      OptimizerState fused = new OptimizerState(settings, n, DataType.FLOAT);
      long stateSize = settings.toUpdater().stateSize(n);
      org.nd4j.linalg.learning.GradientUpdater<?> reference = settings.toUpdater().instantiate(
          stateSize == 0 ? null : Nd4j.zeros(DataType.FLOAT, 1, stateSize), true);
      Nd4j.getRandom().setSeed(5);
      INDArray ours = Nd4j.rand(DataType.FLOAT, n);
      INDArray theirs = ours.dup();
      for (int step = 0; step < 50; step++) {
        INDArray gradient = Nd4j.randn(DataType.FLOAT, n);
        INDArray copy = gradient.dup();
        fused.applyInPlace(ours, gradient);
        reference.applyUpdater(copy.reshape(1, n), step, 0);
        theirs.subi(copy);
      }
      assertArrayEquals(theirs.toFloatVector(), ours.toFloatVector(), 1e-5f, name);
    }
  }

  @Test
  void applyIntoWritesWhatApplyInPlaceWouldAndLeavesTheSourceAsItWas() {
    for (DataType type : java.util.List.of(DataType.FLOAT, DataType.DOUBLE)) {
      OptimizerSettings settings = new OptimizerSettings("adam", 0.01, 0.9, 0.999, 1e-8, false);
      int n = 300;
      OptimizerState inPlace = new OptimizerState(settings, n, type);
      OptimizerState into = new OptimizerState(settings, n, type);
      Nd4j.getRandom().setSeed(11);
      INDArray expected = Nd4j.rand(type, n);
      INDArray current = expected.dup();
      for (int step = 0; step < 20; step++) {
        INDArray gradient = Nd4j.randn(type, n);
        inPlace.applyInPlace(expected, gradient.dup());
        INDArray before = current.dup();
        // A target full of values that must not leak into the result.
        INDArray target = Nd4j.valueArrayOf(new long[] {n}, 1e6, type);
        into.applyInto(current, target, gradient);
        assertArrayEquals(before.toDoubleVector(), current.toDoubleVector(), 0.0, "source kept");
        current = target;
      }
      assertArrayEquals(expected.toDoubleVector(), current.toDoubleVector(), 0.0, type.name());
      assertEquals(20, into.iteration());
    }
  }

  @Test
  void applyAllIntoGivesTheSameFloatsAsOneUpdateAfterTheOther() {
    for (String name : java.util.List.of("adam", "sgd")) {
      for (DataType type : java.util.List.of(DataType.FLOAT, DataType.DOUBLE)) {
        // A half-life, so that each update of a pass has its own rate; a length that is not a
        // whole number of the loop's chunks.
        OptimizerSettings settings =
            new OptimizerSettings(name, 0.01, 0.9, 0.999, 1e-8, false, 3);
        int n = 2_500;
        OptimizerState oneByOne = new OptimizerState(settings, n, type);
        OptimizerState together = new OptimizerState(settings, n, type);
        Nd4j.getRandom().setSeed(5);
        INDArray expected = Nd4j.rand(type, n);
        INDArray current = expected.dup();
        for (int pass = 0; pass < 4; pass++) {
          java.util.List<INDArray> gradients = new java.util.ArrayList<>();
          for (int j = 0; j <= pass; j++) {
            INDArray gradient = Nd4j.randn(type, n);
            gradients.add(gradient);
            oneByOne.applyInPlace(expected, gradient.dup());
          }
          java.util.List<INDArray> before = gradients.stream().map(INDArray::dup).toList();
          INDArray source = current.dup();
          INDArray target = Nd4j.valueArrayOf(new long[] {n}, 1e6, type);
          together.applyAllInto(current, target, gradients);
          assertArrayEquals(source.toDoubleVector(), current.toDoubleVector(), 0.0,
              "source kept");
          if (type == DataType.FLOAT) {
            for (int j = 0; j < gradients.size(); j++) {
              assertArrayEquals(before.get(j).toDoubleVector(),
                  gradients.get(j).toDoubleVector(), 0.0, "fused loops keep the gradients");
            }
          }
          current = target;
        }
        String what = name + " " + type;
        assertArrayEquals(expected.toDoubleVector(), current.toDoubleVector(), 0.0, what);
        assertEquals(oneByOne.iteration(), together.iteration(), what);
        assertEquals(10, together.iteration(), what);
        assertArrayEquals(oneByOne.copyOfState(), together.copyOfState(), 0f, what);
      }
    }
  }

  @Test
  void aHalfLifeDecaysTheRateExponentiallyInBothPathsAlike() {
    for (String name : java.util.List.of("adam", "sgd")) {
      OptimizerSettings settings = new OptimizerSettings(name, 0.01, 0.9, 0.999, 1e-8, false, 10);
      assertEquals(0.005, settings.learningRate(10), 1e-15);
      assertEquals(0.01 * Math.pow(0.5, 0.3), settings.learningRate(3), 1e-15);
      int n = 100;
      OptimizerState fused = new OptimizerState(settings, n, DataType.FLOAT);
      OptimizerState reference = new OptimizerState(settings, n, DataType.DOUBLE);
      Nd4j.getRandom().setSeed(7);
      INDArray ours = Nd4j.rand(DataType.FLOAT, n);
      INDArray theirs = ours.castTo(DataType.DOUBLE);
      for (int step = 0; step < 40; step++) {
        INDArray gradient = Nd4j.randn(DataType.FLOAT, n);
        INDArray copy = gradient.castTo(DataType.DOUBLE);
        fused.applyInPlace(ours, gradient);
        reference.applyInPlace(theirs, copy);
      }
      assertArrayEquals(theirs.toFloatVector(), ours.toFloatVector(), 1e-5f, name);
    }
  }

  @Test
  void doubleBuffersGoThroughNd4jsUpdater() {
    OptimizerState adam = new OptimizerState(
        new OptimizerSettings("adam", 0.1, 0.9, 0.999, 1e-8, false), 2, DataType.DOUBLE);
    INDArray params = Nd4j.createFromArray(1.0, 2.0);
    adam.applyInPlace(params, Nd4j.createFromArray(1.0, -1.0));
    // First Adam step moves each parameter by the learning rate against the gradient's sign.
    assertArrayEquals(new double[] {0.9, 2.1}, params.toDoubleVector(), 1e-6);
  }

  @Test
  void restoredStateContinuesExactlyWhereTheCopyWasTaken() {
    for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
      OptimizerSettings settings = new OptimizerSettings("adam", 0.01, 0.9, 0.999, 1e-8, false);
      OptimizerState original = new OptimizerState(settings, 3, type);
      INDArray params = Nd4j.createFromArray(1f, -2f, 0.5f).castTo(type);
      original.applyInPlace(params, Nd4j.createFromArray(0.5f, -1f, 0.25f).castTo(type));
      original.applyInPlace(params, Nd4j.createFromArray(0.1f, 0.3f, -0.2f).castTo(type));
      float[] saved = original.copyOfState();
      assertEquals(6, saved.length);
      OptimizerState restored = new OptimizerState(settings, 3, type);
      restored.restoreInPlace(original.iteration(), saved);
      INDArray copy = params.dup();
      original.applyInPlace(params, Nd4j.createFromArray(-0.4f, 0.2f, 0.9f).castTo(type));
      restored.applyInPlace(copy, Nd4j.createFromArray(-0.4f, 0.2f, 0.9f).castTo(type));
      // Checkpoints hold float32: exact for float blocks, rounded for double ones.
      assertArrayEquals(params.toDoubleVector(), copy.toDoubleVector(),
          type == DataType.FLOAT ? 0.0 : 1e-6, type.toString());
      assertEquals(3, restored.iteration());
    }
  }
  @Test
  void lazyEmbeddingUpdatesStepOnlyTheRowsOfTheBatchAndMatchDenseThere() {
    tandem.model.module.Embedding embedding = new tandem.model.module.Embedding("e",
        java.util.List.of(new tandem.model.module.Embedding.Table(4, 3, 1),
            new tandem.model.module.Embedding.Table(2, 2, 1)));
    OptimizerSettings dense = new OptimizerSettings("adam", 0.01, 0.9, 0.999, 1e-8, false, 0);
    OptimizerSettings lazy = new OptimizerSettings("adam", 0.01, 0.9, 0.999, 1e-8, false, 0,
        true);
    OptimizerState denseState = OptimizerState.forModule(dense, embedding, 16, DataType.FLOAT);
    OptimizerState lazyState = OptimizerState.forModule(lazy, embedding, 16, DataType.FLOAT);
    INDArray denseParameters = Nd4j.rand(DataType.FLOAT, 1, 16).reshape(16);
    INDArray lazyParameters = denseParameters.dup();
    // Step 1 touches every row; step 2 only row 1 of table 0 (floats 3-5) and row 0 of table 1
    // (floats 12-13).
    float[] all = new float[16];
    java.util.Arrays.fill(all, 0.3f);
    float[] some = new float[16];
    some[3] = 0.5f;
    some[5] = -0.25f;
    some[12] = 1f;
    for (float[] gradient : new float[][] {all, some}) {
      denseState.applyInPlace(denseParameters, Nd4j.createFromArray(gradient));
      lazyState.applyInPlace(lazyParameters, Nd4j.createFromArray(gradient));
    }
    float[] d = denseParameters.toFloatVector();
    float[] l = lazyParameters.toFloatVector();
    float[] m = lazyState.copyOfState();
    // Dense moved every row on step 2 (its moments were non-zero); lazy moved only the batch's.
    for (int i = 0; i < 16; i++) {
      boolean touched = i >= 3 && i < 6 || i == 12 || i == 13;
      if (touched) {
        assertEquals(d[i], l[i], 1e-6, "row entry " + i);
      } else {
        assertEquals(true, d[i] != l[i], "dense moved untouched entry " + i);
        // Lazy left it where step 1 put it: its first moment is still 0.1 * 0.3.
        assertEquals(0.1f * 0.3f, m[i], 1e-7f, "first moment " + i);
      }
    }
    assertEquals(2, lazyState.iteration());
  }
}
