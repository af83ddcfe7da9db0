package tandem.orchestrator.admission;

/**
 * A request over one of the server's limits: answered RESOURCE_EXHAUSTED with a message naming
 * the field, the limit, the value and the setting that holds the limit. Immutable.
 */
public final class LimitExceededException extends Exception {

  private final String field;

  /**
   * @param what the limited quantity, e.g. "parameters per job"
   * @param setting the setting's name under {@link LimitSettings#PREFIX}
   */
  public LimitExceededException(String field, String what, long value, long limit,
      String setting) {
    super(field + ": " + what + " " + value + " exceeds the limit of " + limit + " ("
        + LimitSettings.PREFIX + setting + ")", null, false, false);
    this.field = field;
  }

  /** A limit that is not one of the {@link LimitSettings}: {@code message} names it. */
  LimitExceededException(String field, String message) {
    super(field + ": " + message, null, false, false);
    this.field = field;
  }

  public String field() {
    return field;
  }
}
