package tandem.client;

/**
 * A job spec file that cannot be read or parsed. The message names the file and the problem and
 * is meant to be shown to the user as it is. Immutable.
 */
public final class JobSpecException extends Exception {

  public JobSpecException(String message) {
    super(message);
  }
}
