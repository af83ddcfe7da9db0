package tandem.model.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.model.GradientCheck;

class LossTest {

  @Test
  void softmaxCrossEntropyMatchesHandComputedValue() {
    INDArray logits = Nd4j.createFromArray(new double[][] {{0, 0}, {Math.log(3), 0}});
    INDArray labels = Nd4j.createFromArray(new double[][] {{1, 0}, {0, 1}});
    // row 1: -log(1/2); row 2: p(class 1) = 1/4 -> -log(1/4); mean over the batch.
    double expected = (Math.log(2) + Math.log(4)) / 2;
    assertEquals(expected, Loss.SOFTMAX_CROSS_ENTROPY.score(labels, logits), 1e-12);
  }

  @Test
  void sigmoidCrossEntropyAndMseMatchHandComputedValues() {
    INDArray logits = Nd4j.createFromArray(new double[][] {{0, 0}});
    INDArray targets = Nd4j.createFromArray(new double[][] {{1, 0}});
    // ND4J's binary cross-entropy sums over units: 2 * -log(1/2).
    assertEquals(2 * Math.log(2), Loss.SIGMOID_CROSS_ENTROPY.score(targets, logits), 1e-9);
    INDArray predictions = Nd4j.createFromArray(new double[][] {{1, 3}, {0, 0}});
    INDArray values = Nd4j.createFromArray(new double[][] {{0, 1}, {0, 2}});
    // per example: mean over units of squared error: (1 + 4) / 2 and (0 + 4) / 2; batch mean 2.25.
    assertEquals(2.25, Loss.MSE.score(values, predictions), 1e-12);
  }

  @Test
  void gradientsMatchNumerical() {
    Nd4j.getRandom().setSeed(3);
    for (Loss loss : Loss.values()) {
      if (loss.takesSequenceLabels()) {
        continue;
      }
      INDArray logits = Nd4j.rand(DataType.DOUBLE, 4, 3).subi(0.5).muli(4);
      INDArray labels = loss.takesClassLabels()
          ? Nd4j.createFromArray(new double[][] {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {0, 1, 0}})
          : loss == Loss.MSE ? Nd4j.rand(DataType.DOUBLE, 4, 3)
          : Nd4j.createFromArray(new double[][] {{1, 0, 1}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}});
      INDArray gradient = loss.gradient(labels, logits);
      GradientCheck.assertGradient(loss.specName(), logits, gradient,
          () -> loss.score(labels, logits), 1e-5);
    }
  }

  @Test
  void fusedSequenceCrossEntropyMatchesTheNd4jPathWithPaddingAWeightAndBothOrders() {
    Nd4j.getRandom().setSeed(13);
    int batch = 4;
    int steps = 5;
    int vocabulary = 6;
    // Ids 1..5 with padding (0) at the ends of some sequences; one example all padding.
    float[][] ids = {{3, 1, 5, 0, 0}, {2, 2, 4, 1, 5}, {0, 0, 0, 0, 0}, {5, 4, 0, 0, 0}};
    INDArray labels = Nd4j.createFromArray(ids);
    for (char order : new char[] {'c', 'f'}) {
      INDArray logits = Nd4j.rand(DataType.FLOAT, batch, steps * vocabulary).subi(0.5f).muli(6f)
          .dup(order);
      logits.putScalar(1, 0, 40f); // a vanishing probability elsewhere in that step: clipped
      INDArray fusedGradient = Nd4j.create(DataType.FLOAT, new long[] {batch, steps * vocabulary},
          order);
      INDArray nd4jGradient = fusedGradient.dup();
      Loss loss = Loss.SEQUENCE_SOFTMAX_CROSS_ENTROPY;
      double fused = loss.scoreAndGradient(labels, logits, 0.7, fusedGradient);
      double nd4j = tandem.model.kernel.Kernels.using(tandem.model.kernel.Kernels.Path.ND4J,
          () -> loss.scoreAndGradient(labels, logits, 0.7, nd4jGradient));
      assertEquals(nd4j, fused, Math.abs(nd4j) * 1e-5, "score, order " + order);
      double worst = fusedGradient.sub(nd4jGradient).amaxNumber().doubleValue();
      double scale = nd4jGradient.amaxNumber().doubleValue();
      assertTrue(scale > 0 && worst <= scale * 1e-5, "gradient, order " + order + ": "
          + worst + " of " + scale);
      // Padding steps and the all-padding example take no gradient.
      assertEquals(0.0, fusedGradient.getRow(2).amaxNumber().doubleValue());
      assertEquals(0.0, fusedGradient.getDouble(0, 3 * vocabulary + 1));
    }
  }

  @Test
  void fusedMetricsEqualTheNd4jPathForEveryLossAndOrder() {
    Nd4j.getRandom().setSeed(11);
    int rows = 300;
    int columns = 7;
    INDArray oneHot = Nd4j.zeros(DataType.FLOAT, rows, columns);
    for (int r = 0; r < rows; r++) {
      oneHot.putScalar(r, (r * 5) % columns, 1f);
    }
    INDArray bits = Nd4j.rand(DataType.FLOAT, rows, columns).gt(0.5).castTo(DataType.FLOAT);
    // Three units of 0 and 1 per row, so that some rows are right on every unit.
    INDArray fewBits = Nd4j.rand(DataType.FLOAT, rows, 3).gt(0.5).castTo(DataType.FLOAT);
    for (char order : new char[] {'c', 'f'}) {
      INDArray logits = Nd4j.rand(DataType.FLOAT, rows, columns).subi(0.5f).dup(order);
      // Ties: the first largest logit is the prediction on both paths.
      logits.putScalar(0, 0, 9f);
      logits.putScalar(0, 4, 9f);
      INDArray fewLogits = fewBits.mul(2).subi(1).addi(Nd4j.rand(DataType.FLOAT, rows, 3)
          .subi(0.6f)).dup(order);
      Object[][] cases = {{Loss.SOFTMAX_CROSS_ENTROPY, oneHot, logits},
          {Loss.SIGMOID_CROSS_ENTROPY, bits, logits}, {Loss.SIGMOID_CROSS_ENTROPY, fewBits,
          fewLogits}, {Loss.MSE, bits, logits}};
      for (Object[] c : cases) {
        Loss loss = (Loss) c[0];
        INDArray labels = (INDArray) c[1];
        INDArray z = (INDArray) c[2];
        double fused = loss.metricSum(labels, z);
        double nd4j = tandem.model.kernel.Kernels.using(tandem.model.kernel.Kernels.Path.ND4J,
            () -> loss.metricSum(labels, z));
        assertEquals(nd4j, fused, Math.abs(nd4j) * 1e-5, loss + " " + order);
        if (loss != Loss.MSE) {
          assertEquals(nd4j, Math.rint(fused), loss + " counts whole examples");
        }
      }
    }
  }

  @Test
  void metricsCountCorrectExamples() {
    INDArray logits = Nd4j.createFromArray(new double[][] {{2, 1}, {0, 3}, {5, -1}});
    INDArray labels = Nd4j.createFromArray(new double[][] {{1, 0}, {1, 0}, {1, 0}});
    assertEquals(2, Loss.SOFTMAX_CROSS_ENTROPY.metricSum(labels, logits));
    INDArray bitLogits = Nd4j.createFromArray(new double[][] {{2, -1}, {2, 1}});
    INDArray bits = Nd4j.createFromArray(new double[][] {{1, 0}, {1, 0}});
    assertEquals(1, Loss.SIGMOID_CROSS_ENTROPY.metricSum(bits, bitLogits));
    assertEquals(java.util.Optional.of(Loss.MSE), Loss.named("mse"));
    assertEquals(java.util.Optional.empty(), Loss.named("hinge"));
  }

  @Test
  void sequenceLossMasksPaddingAndMatchesNumericalGradient() {
    Nd4j.getRandom().setSeed(5);
    Loss loss = Loss.SEQUENCE_SOFTMAX_CROSS_ENTROPY;
    // 2 examples, 3 steps, vocabulary 4; id 0 is padding.
    INDArray labels = Nd4j.createFromArray(new double[][] {{2, 1, 0}, {3, 3, 1}});
    INDArray logits = Nd4j.rand(DataType.DOUBLE, 2, 12).subi(0.5).muli(4);
    GradientCheck.assertGradient("sequence", logits, loss.gradient(labels, logits),
        () -> loss.score(labels, logits), 1e-5);
    // The padded step of example 0 (columns 8-11) gets no gradient and does not move the loss.
    assertEquals(0, loss.gradient(labels, logits).get(
        org.nd4j.linalg.indexing.NDArrayIndex.point(0),
        org.nd4j.linalg.indexing.NDArrayIndex.interval(8, 12)).norm1Number().doubleValue(), 0);
    double before = loss.score(labels, logits);
    logits.putScalar(new long[] {0, 9}, 100);
    assertEquals(before, loss.score(labels, logits), 1e-12);
    // Score: sum over steps of -log softmax, averaged over the 2 examples.
    INDArray uniform = Nd4j.zeros(DataType.DOUBLE, 2, 12);
    assertEquals(5 * Math.log(4) / 2, loss.score(labels, uniform), 1e-12);
  }

  @Test
  void exactMatchNeedsEveryRealTokenRight() {
    Loss loss = Loss.SEQUENCE_SOFTMAX_CROSS_ENTROPY;
    INDArray labels = Nd4j.createFromArray(new double[][] {{2, 1, 0}, {3, 3, 1}});
    INDArray logits = Nd4j.zeros(DataType.DOUBLE, 2, 12);
    // Example 0: predicts 2, 1, then 3 at a padded step (ignored): a match.
    logits.putScalar(new long[] {0, 2}, 1);
    logits.putScalar(new long[] {0, 5}, 1);
    logits.putScalar(new long[] {0, 11}, 1);
    // Example 1: 3, 2, 1: the second token is wrong.
    logits.putScalar(new long[] {1, 3}, 1);
    logits.putScalar(new long[] {1, 6}, 1);
    logits.putScalar(new long[] {1, 9}, 1);
    assertEquals(1, loss.metricSum(labels, logits));
    assertEquals("exact_match", loss.metric());
  }
}
