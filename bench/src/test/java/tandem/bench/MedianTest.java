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
    double[] values = new double[30];
    for (int i = 0; i < values.length; i++) {
      values[(i * 7) % 30] = i + 1; // 1..30, shuffled
    }
    Median.Interval interval = Median.confidenceInterval(values, 0.95);
    assertEquals(10, interval.low());
    assertEquals(21, interval.high());
    assertEquals(1 - 2 * 0.021387, interval.coverage(), 1e-5);
  }

  @Test
  void at90PercentThirtyValuesGiveTheEleventhAndTheTwentieth() {
    // P(<= 10) = 0.0494 <= 0.05 < P(<= 11) = 0.1002: k = 11.
    double[] values = new double[30];
    for (int i = 0; i < values.length; i++) {
      values[i] = 30 - i;
    }
    Median.Interval interval = Median.confidenceInterval(values, 0.9);
    assertEquals(11, interval.low());
    assertEquals(20, interval.high());
    assertEquals(1 - 2 * 0.049369, interval.coverage(), 1e-5);
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
