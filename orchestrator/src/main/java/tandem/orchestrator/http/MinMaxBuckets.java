package tandem.orchestrator.http;

/**
 * Downsamples a curve for the dashboard by keeping, in each of {@code buckets} equal ranges of x,
 * the point with the smallest y and the one with the largest (in x order): a one-step loss spike
 * survives any zoom level, which random or every-n-th sampling loses (W&B moved to min/max
 * buckets for that reason). A curve with at most {@code 2 * buckets} points comes back whole.
 * Stateless.
 */
final class MinMaxBuckets {

  private MinMaxBuckets() {}

  /**
   * Indices into {@code x} (ascending) of the points to keep, ascending.
   *
   * @param x the points' x values (steps), ascending
   * @param y the points' y values (losses)
   */
  static int[] keep(double[] x, double[] y, int buckets) {
    if (x.length != y.length) {
      throw new IllegalArgumentException("expected as many y as x values (" + x.length
          + "), found " + y.length);
    }
    if (buckets <= 0) {
      throw new IllegalArgumentException("expected a positive bucket count, found " + buckets);
    }
    int n = x.length;
    if (n <= 2 * buckets) {
      int[] all = new int[n];
      for (int i = 0; i < n; i++) {
        all[i] = i;
      }
      return all;
    }
    double first = x[0];
    double width = (x[n - 1] - first) / buckets;
    int[] kept = new int[2 * buckets];
    int count = 0;
    int i = 0;
    for (int b = 0; b < buckets && i < n; b++) {
      double end = b == buckets - 1 ? Double.POSITIVE_INFINITY : first + (b + 1) * width;
      int min = -1;
      int max = -1;
      for (; i < n && x[i] < end; i++) {
        if (min < 0 || y[i] < y[min]) {
          min = i;
        }
        if (max < 0 || y[i] > y[max]) {
          max = i;
        }
      }
      if (min < 0) {
        continue;
      }
      if (min == max) {
        kept[count++] = min;
      } else {
        kept[count++] = Math.min(min, max);
        kept[count++] = Math.max(min, max);
      }
    }
    return java.util.Arrays.copyOf(kept, count);
  }
}
