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
        new OptimizerSettings("sgd", 0.1, 0, 0, 0, false).toUpdater(), 2, DataType.DOUBLE);
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
        new OptimizerSettings("adam", lr, beta1, beta2, eps, false).toUpdater(), 1, DataType.DOUBLE);
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
}
