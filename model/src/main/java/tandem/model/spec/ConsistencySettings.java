package tandem.model.spec;

/**
 * How shared gradients meet the master copy, checked. Immutable.
 *
 * @param mode {@code sync} or {@code async}
 * @param stepsInFlight credits per worker, at least 1
 * @param maxStaleness async bound S (steps in flight job-wide at most S + 1); {@code null} when
 *     unbounded or in sync mode
 * @param staleGradients {@code apply}, {@code scale} or {@code drop}
 * @param dropStaleness the largest staleness still applied under {@code drop}
 */
public record ConsistencySettings(String mode, int stepsInFlight, Integer maxStaleness,
    String staleGradients, int dropStaleness) {

  public boolean async() {
    return mode.equals("async");
  }
}
