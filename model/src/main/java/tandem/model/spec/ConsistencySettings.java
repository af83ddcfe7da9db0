package tandem.model.spec;

/**
 * How shared gradients meet the master copy, checked. Immutable.
 *
 * @param mode {@code sync} or {@code async}
 * @param stepsInFlight credits per worker, at least 1 ({@link #ASYNC_STEPS_IN_FLIGHT} for an
 *     async job that does not say)
 * @param maxStaleness async bound S (steps in flight job-wide at most S + 1); {@code null} when
 *     unbounded or in sync mode
 * @param staleGradients {@code apply}, {@code scale} or {@code drop}
 * @param dropStaleness the largest staleness still applied under {@code drop}
 */
public record ConsistencySettings(String mode, int stepsInFlight, Integer maxStaleness,
    String staleGradients, int dropStaleness) {

  /**
   * Steps in flight per worker of an async job that does not say: a worker reports its
   * outcomes once half of them are done, so each report (a wake-up of the coordinator's thread,
   * which shares the cores with the workers) covers 8 steps. Deep queues cost async training
   * little: a worker reads the newest trunk version when a step starts, not when it was sent.
   * On the 2-core machine, 4 in flight (reports of 2) cost the coordinator a fifth of a core
   * and the workers about 3,700 preemptions a second; 16, a fifteenth and 800
   * (bench/run.sh async).
   */
  public static final int ASYNC_STEPS_IN_FLIGHT = 16;

  public boolean async() {
    return mode.equals("async");
  }
}
