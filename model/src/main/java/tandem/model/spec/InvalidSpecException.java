package tandem.model.spec;

/**
 * A job spec, or the data it points to, that cannot be trained: names the offending field (in
 * Protobuf JSON path form, e.g. {@code tasks[1].path[0]}) and the problem. Expected failure: the
 * gRPC edge turns it into INVALID_ARGUMENT with {@link #getMessage()} as the description.
 */
public final class InvalidSpecException extends Exception {
  private static final long serialVersionUID = 1L;

  private final String field;

  public InvalidSpecException(String field, String problem) {
    super(field + ": " + problem);
    this.field = field;
  }

  /** The offending field's path in the spec, e.g. {@code tasks[0].outputs[1].loss}. */
  public String field() {
    return field;
  }
}
