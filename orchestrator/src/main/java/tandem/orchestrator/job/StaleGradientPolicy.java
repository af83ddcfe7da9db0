package tandem.orchestrator.job;

/**
 * What the shared-parameter actor does with a gradient computed on a replica older than the
 * version it meets (async mode; {@code consistency.stale_gradients} of the job spec), parsed once
 * from the checked spec. Stale-synchronous parallel training after Ho et al., "More Effective
 * Distributed ML via a Stale Synchronous Parallel Parameter Server" (NIPS 2013); the 1/(1+s)
 * scale after Zhang et al., "Staleness-aware Async-SGD for Distributed Deep Learning" (IJCAI
 * 2016). Immutable.
 */
enum StaleGradientPolicy {
  /** Applied as it is, whatever its staleness. */
  APPLY,
  /** Scaled by 1/(1+staleness). */
  SCALE,
  /** Dropped when its staleness is over the job's drop limit; applied as it is otherwise. */
  DROP;

  /** The policy named {@code name} ({@code apply}, {@code scale} or {@code drop}). */
  static StaleGradientPolicy of(String name) {
    return switch (name) {
      case "apply" -> APPLY;
      case "scale" -> SCALE;
      case "drop" -> DROP;
      default -> throw new IllegalArgumentException(
          "expected a stale-gradient policy apply, scale or drop, found '" + name + "'");
    };
  }

  /**
   * The factor a gradient {@code staleness} versions old is applied with: 0 when it is dropped
   * ({@code dropStaleness}: the largest staleness still applied under {@link #DROP}).
   */
  double factor(long staleness, int dropStaleness) {
    return switch (this) {
      case APPLY -> 1.0;
      case SCALE -> 1.0 / (1 + Math.max(0, staleness));
      case DROP -> staleness > dropStaleness ? 0.0 : 1.0;
    };
  }
}
