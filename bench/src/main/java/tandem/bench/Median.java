package tandem.bench;

import java.util.Arrays;

/** The median of repeated measurements: robust to one disturbed repetition. Stateless. */
public final class Median {

  private Median() {}

  /** The middle value, or the mean of the two middle ones for an even count. */
  public static double of(double[] values) {
    double[] sorted = sorted(values);
    int middle = sorted.length / 2;
    return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  }

  /**
   * Where the median of the distribution the values were drawn from lies, {@code level} sure
   * (0.9: 90%), assuming nothing of that distribution but independent draws: the order
   * statistics x(k) and x(n + 1 - k) with the largest k for which the chance that fewer than k
   * of n draws fall below the median, Binomial(n, 1/2), is at most (1 - level) / 2 (the
   * textbook sign-test interval). Few values cannot reach the level: then the smallest and the
   * largest, with the coverage they have (5 values: 93.75%).
   */
  public static Interval confidenceInterval(double[] values, double level) {
    if (!(level > 0 && level < 1)) {
      throw new IllegalArgumentException("confidence level must be between 0 and 1, found " + level);
    }
    double[] sorted = sorted(values);
    int n = sorted.length;
    if (n > 1000) {
      throw new IllegalArgumentException("at most 1,000 values (2^-n underflows beyond), found " + n);
    }
    double tail = (1 - level) / 2;
    // P(B = k - 1) and P(B < k) for B ~ Binomial(n, 1/2), k from 1 up.
    double term = Math.pow(0.5, n);
    double below = term;
    int k = 1;
    while (k + 1 <= (n + 1) / 2) {
      term = term * (n - k + 1) / k;
      if (below + term > tail) {
        break;
      }
      below += term;
      k++;
    }
    return new Interval(sorted[k - 1], sorted[n - k], 1 - 2 * below);
  }

  private static double[] sorted(double[] values) {
    if (values.length == 0) {
      throw new IllegalArgumentException("expected at least one value, found none");
    }
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted;
  }

  /** From {@code low} to {@code high}, holding the median with probability {@code coverage}. */
  public record Interval(double low, double high, double coverage) {}
}
