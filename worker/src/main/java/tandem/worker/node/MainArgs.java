package tandem.worker.node;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * What the JVM entry points ({@code tandem server}, {@code tandem worker}) share on top of
 * picocli: range checks that fail as usage errors, and running a command to an exit code. A
 * usage error prints a line naming the flag and the usage, and ends the process with exit code
 * 2. Stateless.
 */
public final class MainArgs {

  private MainArgs() {}

  /** {@code value} of {@code flag} if it is at least {@code min}; a usage error otherwise. */
  public static int atLeast(CommandSpec spec, String flag, int value, int min) {
    if (value < min) {
      throw new ParameterException(spec.commandLine(),
          flag + " expects a whole number >= " + min + ", found " + value);
    }
    return value;
  }

  /**
   * Runs {@code command} with {@code args}; ends the JVM with the command's exit code unless it is
   * 0 (a server's threads keep the JVM alive until it is asked to stop).
   */
  public static void run(Object command, String[] args) {
    int exitCode = new CommandLine(command).execute(args);
    if (exitCode != 0) {
      System.exit(exitCode);
    }
  }
}
