package tandem.orchestrator.http;

/**
 * Smooths a curve with an exponential moving average weighted by the distance between points
 * rather than by their count: moving from x0 to x1 keeps {@code 2^(-(x1 - x0) / halfLife)} of
 * the old average. A per-point EMA (TensorBoard's) smooths a densely logged curve more than a
 * sparse one of the same run; this one gives the same curve however many points were kept, so a
 * task stepped every 200 job steps and one stepped every 2 look alike. The dashboard's page
 * continues the same formula on live points ({@code ema} in job.js). Not thread-safe.
 */
final class StepWeightedEma {

  private final double halfLife;
  private double lastX = Double.NaN;
  private double value = Double.NaN;

  /** @param halfLife x distance (steps or seconds) after which a point weighs half as much */
  StepWeightedEma(double halfLife) {
    if (!(halfLife > 0)) {
      throw new IllegalArgumentException("expected a positive half-life, found " + halfLife);
    }
    this.halfLife = halfLife;
  }

  /** Adds the point (x, y), x not below the previous one's, and returns the average there. */
  double add(double x, double y) {
    if (Double.isNaN(value)) {
      value = y;
    } else {
      double keep = Math.pow(2, -Math.max(0, x - lastX) / halfLife);
      value = keep * value + (1 - keep) * y;
    }
    lastX = x;
    return value;
  }

  /** The average at the latest point; NaN before any. */
  double value() {
    return value;
  }
}
