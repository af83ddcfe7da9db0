package tandem.orchestrator.grpc;

import io.grpc.Status;
import tandem.orchestrator.admission.Names;
import tandem.orchestrator.job.JobIds;

/**
 * Checks of the identifiers a request carries (job ids, model names) before they reach a map, a
 * file name or an actor, as statuses for the gRPC services. Stateless.
 */
public final class RequestFields {

  private RequestFields() {}

  /** Refuses {@code jobId} (from {@code field}) unless it is a job id. */
  public static void checkJobId(String field, String jobId) throws RequestException {
    if (!JobIds.isValid(jobId)) {
      throw new RequestException(Status.INVALID_ARGUMENT.withDescription(field
          + ": expected a job id (" + JobIds.PATTERN.pattern() + "), found " + quote(jobId)));
    }
  }

  /** Refuses {@code name} (from {@code field}) unless it is a valid model or task name. */
  public static void checkName(String field, String name, int maxChars) throws RequestException {
    String problem = Names.problem(name, maxChars);
    if (problem != null) {
      throw new RequestException(Status.INVALID_ARGUMENT.withDescription(field + ": " + problem));
    }
  }

  /** Client text quoted for a status message, cut short ({@link Names#quote}). */
  public static String quote(String text) {
    return Names.quote(text);
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
