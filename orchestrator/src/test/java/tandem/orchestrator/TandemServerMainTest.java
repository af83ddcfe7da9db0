package tandem.orchestrator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The server's command line: usage and flag errors (serving is covered by the cluster tests). */
class TandemServerMainTest {

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine command = new CommandLine(new TandemServerMain());
    command.setOut(new PrintWriter(out));
    command.setErr(new PrintWriter(err));
    return command.execute(args);
  }

  @Test
  void helpPrintsTheUsageWithEveryFlag() {
    assertEquals(0, run("--help"));

    String usage = out.toString();
    assertTrue(usage.startsWith("Usage: tandem server"), usage);
    for (String flag : List.of("--port", "--host", "--workers", "--port-file", "--model",
        "--cluster-port", "--cluster-host", "--no-local-workers", "--min-workers", "--job-dir",
        "--data-root", "--token-file", "--tls-cert", "--tls-key", "--tls-client-ca",
        "--cluster-key-store", "--cluster-key-store-password-file", "--insecure", "--http-port",
        "--http-host")) {
      assertTrue(usage.contains(flag + "=") || usage.contains(flag + " "),
          flag + " missing from\n" + usage);
    }
  }

  @Test
  void aValueOutOfRangeIsAUsageErrorNamingTheFlag() {
    assertEquals(2, run("--workers", "2", "--port", "-1"));

    assertTrue(err.toString().contains("--port expects a whole number >= 0, found -1"),
        err.toString());
  }

  @Test
  void aSettingTheServerRefusesEndsItWithTheReasonAndNoStackTrace() {
    String setting = tandem.worker.Worker.UPDATES_TOGETHER_SETTING;
    System.setProperty(setting, "0");
    com.typesafe.config.ConfigFactory.invalidateCaches();
    try {
      assertEquals(2, run("--host", "127.0.0.1", "--port", "0", "--workers", "1"));
    } finally {
      System.clearProperty(setting);
      com.typesafe.config.ConfigFactory.invalidateCaches();
    }
    assertTrue(err.toString().startsWith("tandem server: " + setting + " must be at least 1"),
        err.toString());
    assertTrue(!err.toString().contains("\tat "), err.toString());
  }

  @Test
  void anUnknownFlagOrAMissingValueIsAUsageError() {
    assertEquals(2, run("--bogus"));
    assertTrue(err.toString().contains("Unknown option: '--bogus'"), err.toString());

    assertEquals(2, run("--min-workers", "many"));
    assertTrue(err.toString().contains("--min-workers"), err.toString());
  }
}
