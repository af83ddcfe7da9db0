package tandem.orchestrator.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class MinMaxBucketsTest {

  @Test
  void aOneStepSpikeSurvivesAHundredfoldReduction() {
    int n = 10_000;
    double[] x = IntStream.range(0, n).asDoubleStream().toArray();
    double[] y = new double[n];
    Arrays.fill(y, 1.0);
    y[4321] = 50.0;
    y[8765] = -3.0;
    int[] kept = MinMaxBuckets.keep(x, y, 50);
    assertTrue(kept.length <= 100, "two points a bucket at most: " + kept.length);
    assertTrue(IntStream.of(kept).anyMatch(i -> i == 4321), "the spike up");
    assertTrue(IntStream.of(kept).anyMatch(i -> i == 8765), "the spike down");
    for (int i = 1; i < kept.length; i++) {
      assertTrue(kept[i] > kept[i - 1], "in x order");
    }
  }

  @Test
  void eachBucketKeepsItsMinimumAndMaximumInXOrder() {
    double[] x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    double[] y = {5, 9, 1, 4, 4, 0, 3, 8, 2, 7};
    // Buckets of x: [1, 5.5) and [5.5, 10]: min 1 at index 2, max 9 at 1; min 0 at 5, max 8 at 7.
    assertArrayEquals(new int[] {1, 2, 5, 7}, MinMaxBuckets.keep(x, y, 2));
  }

  @Test
  void aShortCurveComesBackWhole() {
    double[] x = {1, 2, 3};
    assertArrayEquals(new int[] {0, 1, 2}, MinMaxBuckets.keep(x, new double[] {3, 2, 1}, 2));
    assertEquals(0, MinMaxBuckets.keep(new double[0], new double[0], 5).length);
  }

  @Test
  void unevenXLeavesEmptyBucketsOut() {
    double[] x = {1, 2, 3, 4, 1000, 1001, 1002, 1003};
    double[] y = {1, 2, 3, 4, 5, 6, 7, 8};
    int[] kept = MinMaxBuckets.keep(x, y, 3);
    // 3 buckets over [1, 1003]: the first holds four points, the middle none, the last four.
    assertArrayEquals(new int[] {0, 3, 4, 7}, kept);
  }

  @Test
  void mismatchedLengthsAndNoBucketsAreRefused() {
    assertThrows(IllegalArgumentException.class,
        () -> MinMaxBuckets.keep(new double[2], new double[3], 4));
    assertThrows(IllegalArgumentException.class,
        () -> MinMaxBuckets.keep(new double[2], new double[2], 0));
  }
}
