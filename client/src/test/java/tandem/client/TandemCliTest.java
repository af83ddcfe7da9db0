package tandem.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The command line through picocli's {@code execute}, with its output captured. */
class TandemCliTest {

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine cli = TandemCli.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    return cli.execute(args);
  }

  @Test
  void helpListsTheSubcommands() {
    assertEquals(0, run("--help"));
    for (String sub : List.of("server", "submit", "watch", "jobs", "status", "cancel", "demo")) {
      assertTrue(out.toString().contains(sub), sub + " missing from:\n" + out);
    }
  }

  @Test
  void noSubcommandIsAUsageError() {
    assertEquals(2, run());
    assertTrue(err.toString().contains("missing subcommand"), err.toString());
  }

  @Test
  void submitOfAMissingFileExits2WithAMessage(@TempDir Path dir) {
    Path missing = dir.resolve("missing.json");
    assertEquals(2, run("submit", missing.toString()));
    assertTrue(err.toString().contains("cannot read job spec " + missing + ": no such file"), err.toString());
  }

  @Test
  void unreachableServerExits2WithAHint() throws Exception {
    Server closed = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).build().start();
    String address = "127.0.0.1:" + closed.getPort();
    closed.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);

    assertEquals(2, run("jobs", "--server", address));
    assertTrue(err.toString().contains("cannot reach the Tandem server at " + address
        + ": is `tandem server` running?"), err.toString());
  }

  @Test
  void rejectedSpecPrintsTheServerMessageAndExits2() throws Exception {
    TandemClientTest.FakeTrainingService service = new TandemClientTest.FakeTrainingService();
    service.rejectSubmit = "tasks[0].outputs[0].loss: unknown loss 'hinge'";
    withServer(service, address -> {
      assertEquals(2, run("submit", JobSpecsTest.repoFile("examples/arithmetic.json").toString(), "--server", address));
      assertTrue(err.toString().contains("tasks[0].outputs[0].loss: unknown loss 'hinge'"), err.toString());
    });
  }

  @Test
  void submitWatchJsonPrintsEventsAndASummary() throws Exception {
    withServer(new TandemClientTest.FakeTrainingService(), address -> {
      int code = run("submit", JobSpecsTest.repoFile("examples/arithmetic.json").toString(),
          "--server", address, "--watch", "--json");
      assertEquals(0, code, err.toString());
      List<String> lines = out.toString().lines().toList();
      assertEquals("{\"jobId\":\"job-1\"}", lines.get(0));
      // Seven events, then the summary.
      assertEquals(9, lines.size(), out.toString());
      assertTrue(lines.get(1).startsWith("{\"sequence\":\"1\""), lines.get(1));
      assertTrue(lines.get(8).startsWith("{\"jobId\":\"job-1\",\"state\":\"JOB_STATE_SUCCEEDED\""), lines.get(8));
    });
  }

  @Test
  void cancelPrintsTheNewState() throws Exception {
    withServer(new TandemClientTest.FakeTrainingService(), address -> {
      assertEquals(0, run("cancel", "job-3", "--server", address));
      assertEquals("job job-3 CANCELLED at step 0", out.toString().strip());
    });
  }

  @Test
  void unknownJobExits2() throws Exception {
    withServer(new TandemClientTest.FakeTrainingService(), address -> {
      assertEquals(2, run("status", "missing", "--server", address));
      assertTrue(err.toString().contains("no job missing"), err.toString());
    });
  }

  private interface WithAddress {
    void run(String address) throws Exception;
  }

  private static void withServer(TandemClientTest.FakeTrainingService service, WithAddress body) throws Exception {
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(service).build().start();
    try {
      body.run("127.0.0.1:" + server.getPort());
    } finally {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
