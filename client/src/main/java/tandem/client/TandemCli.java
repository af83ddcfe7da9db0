package tandem.client;

import picocli.CommandLine;

/**
 * Entry point of the {@code tandem} command line. Exit codes: 0 ok, 1 job failed (or the demo
 * missed 100%), 2 usage, spec or connection error.
 */
public final class TandemCli {

  private TandemCli() {}

  /** Logback setup for the command line; see the file for why it is not logback.xml. */
  static final String LOGGING_CONFIG = "tandem/client/logback-cli.xml";

  public static void main(String[] args) {
    // Before anything touches SLF4J; an explicit -Dlogback.configurationFile still wins.
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", LOGGING_CONFIG);
    }
    System.exit(commandLine().execute(args));
  }

  /** The configured command line, for {@code main} and for tests that capture its output. */
  public static CommandLine commandLine() {
    CommandLine commandLine = new CommandLine(new TandemCommand());
    commandLine.setExecutionExceptionHandler((e, cmd, parseResult) -> {
      // Expected user errors get one line, not a stack trace.
      if (e instanceof JobSpecException) {
        cmd.getErr().println("tandem: " + e.getMessage());
        return ExitCodes.USAGE;
      }
      throw e;
    });
    return commandLine;
  }
}
