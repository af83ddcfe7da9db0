package tandem.worker.node;

/**
 * The checks the JVM entry points ({@code tandem server}, {@code tandem worker}) share for their
 * flags: a bad value ends the process with exit code 2 and a line naming the program and the
 * flag. Immutable.
 */
public final class MainArgs {

  private final String program;

  /** Messages start with {@code program}, e.g. "tandem worker". */
  public MainArgs(String program) {
    this.program = program;
  }

  /** {@code value} of {@code flag} as a whole number of at least {@code min}; exits otherwise. */
  public int atLeast(String flag, String value, int min) {
    try {
      int parsed = Integer.parseInt(value);
      if (parsed >= min) {
        return parsed;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    fail(flag + " expects a whole number >= " + min + ", found '" + value + "'");
    return -1;
  }

  /** Prints {@code message} after the program's name to stderr and exits with code 2. */
  public void fail(String message) {
    System.err.println(program + ": " + message);
    System.exit(2);
  }
}
