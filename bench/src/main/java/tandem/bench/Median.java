package tandem.bench;

import java.util.Arrays;

/** The median of repeated measurements: robust to one disturbed repetition. Stateless. */
public final class Median {

  private Median() {}

  /** The middle value, or the mean of the two middle ones for an even count. */
  public static double of(double[] values) {
    if (values.length == 0) {
      throw new IllegalArgumentException("expected at least one value, found none");
    }
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int middle = sorted.length / 2;
    return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  }
}
