package tandem.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class MedianTest {

  @Test
  void theMedianIsTheMiddleValueOrTheMeanOfTheTwoMiddleOnes() {
    assertEquals(3, Median.of(new double[] {5, 1, 3}));
    assertEquals(2.5, Median.of(new double[] {4, 1, 3, 2}));
    assertThrows(IllegalArgumentException.class, () -> Median.of(new double[0]));
  }

  @Test
  void thirtyValuesGiveTheTenthAndTheTwentyFirstAt95Percent() {
    // P(Binomial(30, 1/2) <= 9) = 0.0214 <= 0.025 < P(<= 10) = 0.0494: k = 10.
    assertIntervalOfOneToThirty(0.95, 10, 21, 0.021387);
  }

  @Test
  void at90PercentThirtyValuesGiveTheEleventhAndTheTwentieth() {
    // P(<= 10) = 0.0494 <= 0.05 < P(<= 11) = 0.1002: k = 11.
    assertIntervalOfOneToThirty(0.9, 11, 20, 0.049369);
  }

  /** 1..30 in a shuffled order: the interval's ends are the values of their ranks. */
  private static void assertIntervalOfOneToThirty(double level, double low, double high,
      double tail) {
    double[] values = new double[30];
    for (int i = 0; i < values.length; i++) {
      values[(i * 7) % 30] = i + 1;
    }
    Median.Interval interval = Median.confidenceInterval(values, level);
    assertEquals(low, interval.low());
    assertEquals(high, interval.high());
    assertEquals(1 - 2 * tail, interval.coverage(), 1e-5);
  }

  @Test
  void fiveValuesCannotReach95PercentSoTheyGiveTheirRangeWithItsCoverage() {
    Median.Interval interval = Median.confidenceInterval(new double[] {1.2, 0.9, 1.0, 1.1, 1.05},
        0.95);
    assertEquals(0.9, interval.low());
    assertEquals(1.2, interval.high());
    assertEquals(1 - 2.0 / 32, interval.coverage(), 1e-12);
  }

  @Test
  void aLevelOutsideZeroToOneIsRefused() {
    assertThrows(IllegalArgumentException.class,
        () -> Median.confidenceInterval(new double[] {1, 2, 3}, 1.0));
  }
}
