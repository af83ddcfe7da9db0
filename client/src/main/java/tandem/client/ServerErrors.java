package tandem.client;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/** Turns failed gRPC calls into one-line messages for the command line. Stateless. */
final class ServerErrors {

  private ServerErrors() {}

  /** What went wrong talking to the server at {@code address}, in words a user can act on. */
  static String describe(StatusRuntimeException e, String address) {
    Status status = e.getStatus();
    String detail = status.getDescription() == null ? "" : status.getDescription();
    return switch (status.getCode()) {
      case UNAVAILABLE -> "cannot reach the Tandem server at " + address
          + ": is `tandem server` running?" + (detail.isEmpty() ? "" : " (" + detail + ")");
      // The server's message names the bad field; it is the useful part.
      case INVALID_ARGUMENT -> "rejected by the server: " + detail;
      case NOT_FOUND, FAILED_PRECONDITION, ALREADY_EXISTS -> detail.isEmpty()
          ? status.getCode().toString().toLowerCase().replace('_', ' ')
          : detail;
      case DEADLINE_EXCEEDED -> "the Tandem server at " + address + " did not answer in time"
          + (detail.isEmpty() ? "" : " (" + detail + ")");
      default -> "the Tandem server at " + address + " failed: " + status.getCode()
          + (detail.isEmpty() ? "" : ": " + detail);
    };
  }
}
