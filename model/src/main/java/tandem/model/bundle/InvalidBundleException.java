package tandem.model.bundle;

import java.io.IOException;

/**
 * A file that is not a usable model bundle: unreadable, truncated, corrupted (a checksum that does
 * not match), of an unknown format version, or inconsistent with its own spec. The message names
 * the file and the problem. Expected failure: the gRPC edge turns it into INVALID_ARGUMENT.
 */
public final class InvalidBundleException extends IOException {
  private static final long serialVersionUID = 1L;

  public InvalidBundleException(String message) {
    super(message);
  }

  public InvalidBundleException(String message, Throwable cause) {
    super(message, cause);
  }
}
