package tandem.orchestrator.grpc;

import io.grpc.Status;
import java.util.regex.Pattern;
import tandem.orchestrator.job.JobIds;

/**
 * Checks of the identifiers a request carries (job ids, model and task names) before they reach
 * a map, a file name or an actor, and the excerpt of client text that goes back in a status
 * message: a client's 1 MB name echoed whole would turn the real error into RESOURCE_EXHAUSTED
 * (the status message does not fit the trailers). Stateless.
 */
public final class RequestFields {

  /** Characters of client text quoted in a status message. */
  static final int EXCERPT_CHARS = 64;
  /** Longest model or task name. */
  public static final int MAX_NAME_CHARS = 128;
  /** Model and task names: a letter or digit, then letters, digits, '_', '-', '.'. */
  public static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]*");

  private RequestFields() {}

  /** Refuses {@code jobId} (from {@code field}) unless it is a job id; empty counts as absent. */
  public static void checkJobId(String field, String jobId) throws RequestException {
    if (!JobIds.isValid(jobId)) {
      throw new RequestException(Status.INVALID_ARGUMENT.withDescription(field
          + ": expected a job id (" + JobIds.PATTERN.pattern() + "), found " + quote(jobId)));
    }
  }

  /** The problem with {@code name} as a model or task name, or null if it is fine. */
  public static String nameProblem(String name) {
    if (name.length() > MAX_NAME_CHARS) {
      return "expected at most " + MAX_NAME_CHARS + " characters, found " + name.length();
    }
    if (!NAME.matcher(name).matches()) {
      return "expected a name of letters, digits, '_', '-' and '.' starting with a letter or "
          + "digit, found " + quote(name);
    }
    return null;
  }

  /** Refuses {@code name} (from {@code field}) unless it is a valid model or task name. */
  public static void checkName(String field, String name) throws RequestException {
    String problem = nameProblem(name);
    if (problem != null) {
      throw new RequestException(Status.INVALID_ARGUMENT.withDescription(field + ": " + problem));
    }
  }

  /** {@code text} in quotes, cut to {@value #EXCERPT_CHARS} characters with its length. */
  public static String quote(String text) {
    if (text.length() <= EXCERPT_CHARS) {
      return "'" + text + "'";
    }
    return "'" + text.substring(0, EXCERPT_CHARS) + "…' (" + text.length() + " characters)";
  }

  /** A request refused with a status. */
  public static final class RequestException extends Exception {
    private final Status status;

    RequestException(Status status) {
      super(status.getDescription(), null, false, false);
      this.status = status;
    }

    public Status status() {
      return status;
    }
  }
}
