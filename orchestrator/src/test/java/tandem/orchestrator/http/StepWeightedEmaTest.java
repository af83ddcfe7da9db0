package tandem.orchestrator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class StepWeightedEmaTest {

  @Test
  void oneHalfLifeLaterTheOldAverageWeighsHalf() {
    StepWeightedEma ema = new StepWeightedEma(10);
    assertEquals(4.0, ema.add(0, 4.0), "the first point is the average");
    assertEquals(0.5 * 4.0 + 0.5 * 2.0, ema.add(10, 2.0), 1e-12);
  }

  @Test
  void aPointAtTheSameStepDoesNotMoveTheAverage() {
    StepWeightedEma ema = new StepWeightedEma(10);
    ema.add(0, 1.0);
    assertEquals(1.0, ema.add(0, 100.0), 1e-12);
  }

  @Test
  void theSmoothedCurveDoesNotDependOnHowDenselyItWasLogged() {
    // The same decaying loss logged at every step and at every 20th step.
    StepWeightedEma dense = new StepWeightedEma(200);
    StepWeightedEma sparse = new StepWeightedEma(200);
    double denseAt = 0;
    double sparseAt = 0;
    for (int step = 0; step <= 4000; step++) {
      double loss = 2.0 * Math.exp(-step / 1000.0) + 0.1;
      denseAt = dense.add(step, loss);
      if (step % 20 == 0) {
        sparseAt = sparse.add(step, loss);
      }
    }
    assertEquals(denseAt, sparseAt, 0.01 * denseAt, "within 1%");

    // A per-point EMA (weight 0.1 each) is far apart on the same two loggings.
    double perPointDense = 0;
    double perPointSparse = 0;
    for (int step = 0; step <= 4000; step++) {
      double loss = 2.0 * Math.exp(-step / 1000.0) + 0.1;
      perPointDense = step == 0 ? loss : 0.9 * perPointDense + 0.1 * loss;
      if (step % 20 == 0) {
        perPointSparse = step == 0 ? loss : 0.9 * perPointSparse + 0.1 * loss;
      }
    }
    assertTrue(Math.abs(perPointDense - perPointSparse) > 5 * Math.abs(denseAt - sparseAt),
        "the per-point average depends on density");
  }

  @Test
  void aNonPositiveHalfLifeIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new StepWeightedEma(0));
    assertThrows(IllegalArgumentException.class, () -> new StepWeightedEma(Double.NaN));
  }
}
