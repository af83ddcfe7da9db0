package tandem.worker.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The worker node's command line: usage and flag errors (joining is covered by cluster tests). */
class WorkerNodeMainTest {

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine command = new CommandLine(new WorkerNodeMain());
    command.setOut(new PrintWriter(out));
    command.setErr(new PrintWriter(err));
    return command.execute(args);
  }

  @Test
  void helpPrintsTheUsageWithEveryFlag() {
    assertEquals(0, run("-h"));

    String usage = out.toString();
    assertTrue(usage.startsWith("Usage: tandem worker"), usage);
    for (String flag : List.of("--join", "--workers", "--devices", "--host", "--port",
        "--key-store", "--key-store-password-file", "--insecure")) {
      assertTrue(usage.contains(flag + " ") || usage.contains(flag + "="),
          flag + " missing from\n" + usage);
    }
  }

  @Test
  void joinIsRequiredAndMustNameAPort() {
    assertEquals(2, run("--workers", "1"));
    assertTrue(err.toString().contains("Missing required option: '--join=HOST:PORT'"),
        err.toString());

    assertEquals(2, run("--join", "orchestrator"));
    assertTrue(err.toString().contains("--join expects HOST:PORT"), err.toString());
  }

  @Test
  void valuesOutOfRangeAreUsageErrorsNamingTheFlag() {
    assertEquals(2, run("--join", "127.0.0.1:1", "--workers", "0"));
    assertTrue(err.toString().contains("--workers expects a whole number >= 1, found 0"),
        err.toString());

    assertEquals(2, run("--join", "127.0.0.1:1", "--devices", "0,-1"));
    assertTrue(err.toString().contains("--devices expects a whole number >= 0, found -1"),
        err.toString());
  }
}
