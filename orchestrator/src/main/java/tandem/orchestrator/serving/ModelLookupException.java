package tandem.orchestrator.serving;

/**
 * A model reference that names nothing servable: an unknown bundle name or job id, or a job that
 * has not succeeded (yet). Expected failure: NOT_FOUND or FAILED_PRECONDITION at the gRPC edge.
 */
public final class ModelLookupException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Why the lookup failed. */
  public enum Reason { UNKNOWN, NOT_SUCCEEDED }

  private final Reason reason;

  public ModelLookupException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
