package tandem.client;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import tandem.api.v1.Evaluation;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.JobStatus;

/**
 * {@code tandem demo}: starts a private server, trains the modular arithmetic network on it,
 * shows it live, and passes only if every accuracy reaches 100%. A smoke test of the whole stack
 * that needs nothing running beforehand.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Start a server, train examples/arithmetic.json, exit 0 only at 100%% accuracy.")
final class DemoCommand implements Callable<Integer> {

  static final Path DEFAULT_SPEC = Path.of("examples", "arithmetic.json");
  static final String BUNDLED_SPEC = "/tandem/examples/arithmetic.json";
  /** Covers a cold JVM loading ND4J's native libraries on a slow machine. */
  private static final Duration STARTUP_TIMEOUT = Duration.ofMinutes(2);

  @Option(names = "--workers", paramLabel = "N", description = "Local workers of the demo server.")
  Integer workers;

  @Option(names = "--http-port", paramLabel = "PORT",
      description = "Also serve the live dashboard on http://127.0.0.1:PORT/ while the demo runs.")
  Integer httpPort;

  @Option(names = "--json", description = "Print events as JSON lines and a summary object.")
  boolean json;

  @Option(names = "--spec", paramLabel = "FILE",
      description = "Job spec to train instead of examples/arithmetic.json.")
  Path specFile;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    JobSpec job = loadSpec();
    Path dir = Files.createTempDirectory("tandem-demo-");
    // In JSON mode stdout is for the machine-readable stream only.
    PrintWriter notes = json ? err() : out();
    int code = runDemo(job, dir, notes);
    if (code == ExitCodes.OK) {
      // The log is kept only when something went wrong, since its path was printed then.
      deleteDirectory(dir);
    }
    return code;
  }

  private int runDemo(JobSpec job, Path dir, PrintWriter notes) throws IOException, InterruptedException {
    Path log = dir.resolve("server.log");
    Path portFile = dir.resolve("port");
    java.util.List<String> arguments = new java.util.ArrayList<>(
        ServerProcess.serverArguments(0, workers, portFile));
    // The demo's checkpoints stay in its own directory: a server started from the repository
    // would otherwise resume whatever unfinished jobs an earlier run left under ./jobs.
    arguments.addAll(java.util.List.of("--job-dir", dir.resolve("jobs").toString()));
    if (httpPort != null) {
      arguments.addAll(java.util.List.of("--http-port", httpPort.toString()));
    }
    try (ServerProcess server = ServerProcess.start(arguments, log)) {
      int port;
      try {
        port = server.awaitPort(portFile, STARTUP_TIMEOUT);
      } catch (IOException e) {
        err().println("tandem demo: " + e.getMessage() + "; server log: " + log);
        return ExitCodes.USAGE;
      }
      String address = "127.0.0.1:" + port;
      notes.println("demo server on " + address);
      notes.flush();
      ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
      try {
        return train(new TandemClient(channel), job, notes, log);
      } catch (StatusRuntimeException e) {
        err().println("tandem demo: " + ServerErrors.describe(e, address) + "; server log: " + log);
        return ExitCodes.USAGE;
      } finally {
        channel.shutdownNow();
        channel.awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private int train(TandemClient client, JobSpec job, PrintWriter notes, Path log) {
    String jobId = client.submit(job);
    notes.println("submitted job " + jobId + " (" + job.getName() + ")");
    if (httpPort != null && httpPort > 0) {
      notes.println("dashboard: http://127.0.0.1:" + httpPort + "/job?id=" + jobId);
    }
    notes.flush();
    EventView view = json ? new JsonView(out()) : LiveView.forConsole(out());
    JobStatus status = new WatchSession(client, view).follow(jobId, 0);
    List<String> problems = problems(status);
    if (problems.isEmpty()) {
      notes.println("demo passed: every accuracy is 100%");
      notes.flush();
      return ExitCodes.OK;
    }
    err().println("tandem demo failed: " + String.join("; ", problems) + " (server log: " + log + ")");
    return ExitCodes.JOB_FAILED;
  }

  /** Why the job does not pass the demo; empty if it does. */
  static List<String> problems(JobStatus status) {
    List<String> problems = new ArrayList<>();
    if (status.getState() != JobState.JOB_STATE_SUCCEEDED) {
      problems.add("job ended " + LiveView.stateName(status.getState())
          + (status.getError().isEmpty() ? "" : ": " + status.getError()));
      return problems;
    }
    List<Evaluation> accuracies = status.getEvaluationsList().stream()
        .filter(e -> e.getMetric().equals("accuracy")).toList();
    if (accuracies.isEmpty()) {
      problems.add("the job reported no accuracy");
    }
    for (Evaluation e : accuracies) {
      if (e.getValue() < 1.0) {
        problems.add(String.format(Locale.ROOT, "%s/%s accuracy %.2f%% < 100%%",
            e.getTask(), e.getOutput(), e.getValue() * 100));
      }
    }
    return problems;
  }

  private JobSpec loadSpec() throws JobSpecException {
    if (specFile != null) {
      return JobSpecs.read(specFile);
    }
    // From a checkout, the file users can edit; from anywhere else, the copy in the jar.
    return Files.isRegularFile(DEFAULT_SPEC) ? JobSpecs.read(DEFAULT_SPEC) : JobSpecs.readResource(BUNDLED_SPEC);
  }

  private static void deleteDirectory(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      // Deepest first, so every directory is empty when its turn comes.
      for (Path file : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(file);
      }
    }
  }

  private PrintWriter out() {
    return spec.commandLine().getOut();
  }

  private PrintWriter err() {
    return spec.commandLine().getErr();
  }
}
