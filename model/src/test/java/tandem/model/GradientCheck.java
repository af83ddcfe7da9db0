package tandem.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.DoubleSupplier;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Central-difference gradient checks in double precision, for the modules' and losses' tests. */
public final class GradientCheck {

  private static final double STEP = 1e-6;

  private GradientCheck() {}

  /**
   * Checks every entry of {@code analytic} against (f(x+h) - f(x-h)) / 2h, perturbing the same entry
   * of {@code variable} in place (and restoring it). Fails with the first entry off by more than
   * the relative tolerance (absolute below 1e-8, where both are round-off).
   */
  public static void assertGradient(String what, INDArray variable, INDArray analytic,
      DoubleSupplier loss, double relativeTolerance) {
    INDArray flatVariable = variable.reshape(variable.length());
    INDArray flatAnalytic = analytic.dup().reshape(analytic.length());
    for (long i = 0; i < flatVariable.length(); i++) {
      double original = flatVariable.getDouble(i);
      flatVariable.putScalar(i, original + STEP);
      double plus = loss.getAsDouble();
      flatVariable.putScalar(i, original - STEP);
      double minus = loss.getAsDouble();
      flatVariable.putScalar(i, original);
      double numeric = (plus - minus) / (2 * STEP);
      double computed = flatAnalytic.getDouble(i);
      double scale = Math.max(Math.abs(numeric), Math.abs(computed));
      double error = Math.abs(numeric - computed);
      assertTrue(error < 1e-8 || error / scale < relativeTolerance,
          what + "[" + i + "]: analytic " + computed + ", numeric " + numeric);
    }
  }
}
