package tandem.bench.soak;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.protobuf.util.JsonFormat;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.StopCondition;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingServiceGrpc;
import tandem.bench.MachineInfo;

/**
 * Memory: the README's examples, one after another, on one server in a JVM of its own, for
 * several rounds, as a new user would try them. After each round (every job ended, the jobs of
 * earlier rounds released from memory: the server keeps {@code --retained-jobs}, one round's
 * worth by default) the server's resident memory after a full GC, against the first round's
 * (target: within 20%), and never an out-of-memory error: every job must succeed and the server
 * stay up (exit code 1 otherwise). The server runs with the {@code tandem} launcher's heap and
 * JavaCPP limits.
 */
@Command(name = "memory", mixinStandardHelpOptions = true,
    description = "The README's examples one after another on one server JVM, several rounds: "
        + "resident memory after each round against the first.")
public final class MemoryBench implements Callable<Integer> {

  private static final Duration JOB_DEADLINE = Duration.ofMinutes(30);

  @Option(names = "--rounds", defaultValue = "3", description = "Rounds (default: ${DEFAULT-VALUE}).")
  int rounds;

  @Option(names = "--examples", split = ",",
      defaultValue = "arithmetic-routed,data-type-branches,shared-decoder,many-heads",
      description = "Examples of examples/, in order (default: ${DEFAULT-VALUE}).")
  List<String> examples;

  @Option(names = "--max-steps", defaultValue = "0",
      description = "Steps per job instead of the example's (0: the example's; for smoke runs).")
  long maxSteps;

  @Option(names = "--retained-jobs", defaultValue = "0",
      description = "Finished jobs the server keeps in memory (0: one round's, so each round "
          + "releases the one before it).")
  int retainedJobs;

  @Option(names = "--workers", defaultValue = "2", description = "Local workers (default: ${DEFAULT-VALUE}).")
  int workers;

  @Option(names = "--server-heap", defaultValue = "2g",
      description = "The server's -Xmx, as the tandem launcher's (default: ${DEFAULT-VALUE}).")
  String serverHeap;

  @Option(names = "--base-dir", defaultValue = ".",
      description = "Repository root: examples/ and ../shared/data are found from here "
          + "(default: ${DEFAULT-VALUE}).")
  Path baseDir;

  @Option(names = "--server-jvm-option",
      description = "An extra option of the server's JVM (repeatable), e.g. "
          + "-XX:NativeMemoryTracking=summary.")
  List<String> serverJvmOptions = new ArrayList<>();

  @Option(names = "--json", description = "Print one JSON object instead of a table.")
  boolean json;

  @Spec
  CommandSpec commandSpec;

  private record Round(int number, double seconds, long rssBytes, List<String> failures) {}

  @Override
  public Integer call() throws Exception {
    List<JobSpec> specs = new ArrayList<>();
    for (String example : examples) {
      JobSpec.Builder spec = JobSpec.newBuilder();
      JsonFormat.parser().merge(Files.readString(baseDir.resolve("examples/" + example + ".json")),
          spec);
      if (maxSteps > 0) {
        spec.setStop(StopCondition.newBuilder().setMaxSteps(maxSteps));
      }
      specs.add(spec.build());
    }
    Path dir = Files.createTempDirectory("tandem-bench-memory");
    Path root = baseDir.toAbsolutePath().normalize();
    List<String> jvmOptions = new ArrayList<>(List.of(
        "-Dorg.bytedeco.javacpp.maxbytes=4G", "-Dorg.bytedeco.javacpp.maxphysicalbytes=8G",
        "-Dtandem.orchestrator.limits.retained-jobs=" + (retainedJobs > 0 ? retainedJobs : specs.size())));
    jvmOptions.addAll(serverJvmOptions);
    List<String> serverArgs = List.of("--data-root", root.toString(),
        "--data-root", root.resolve("../shared/data").normalize().toString());
    List<Round> done = new ArrayList<>();
    try (ServerJvm server = ServerJvm.start(workers, serverHeap, jvmOptions, serverArgs, root,
        dir)) {
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port())
          .usePlaintext().build();
      try {
        TrainingServiceGrpc.TrainingServiceBlockingStub stub =
            TrainingServiceGrpc.newBlockingStub(channel);
        for (int r = 1; r <= rounds; r++) {
          long start = System.nanoTime();
          List<String> failures = new ArrayList<>();
          for (int e = 0; e < specs.size() && server.alive(); e++) {
            String failure = train(stub, specs.get(e));
            System.err.printf(Locale.ROOT, "round %d/%d, %s: %s%n", r, rounds, examples.get(e),
                failure == null ? "succeeded" : failure);
            if (failure != null) {
              failures.add(examples.get(e) + ": " + failure);
            }
          }
          double seconds = (System.nanoTime() - start) / 1e9;
          if (!server.alive()) {
            failures.add("the server exited (out of memory?); its log: " + server.log());
            done.add(new Round(r, seconds, 0, failures));
            break;
          }
          ServerJvm.Rss rss = server.rssAfterGc();
          done.add(new Round(r, seconds, rss.bytes(), failures));
          System.err.printf(Locale.ROOT, "round %d: %.0f s, resident %d MB after a full GC%n", r,
              seconds, rss.bytes() >> 20);
        }
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
    return report(done);
  }

  /** Trains one job to its end; null if it succeeded, else what went wrong. */
  private static String train(TrainingServiceGrpc.TrainingServiceBlockingStub stub, JobSpec spec) {
    try {
      String jobId = stub.submitJob(SubmitJobRequest.newBuilder().setSpec(spec).build())
          .getJobId();
      Iterator<TrainingEvent> events = stub.withDeadlineAfter(JOB_DEADLINE.toMillis(),
          TimeUnit.MILLISECONDS).streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId)
          .build());
      while (events.hasNext()) {
        TrainingEvent event = events.next();
        if (event.hasJobFinished()) {
          return event.getJobFinished().getState() == JobState.JOB_STATE_SUCCEEDED ? null
              : event.getJobFinished().getState() + ": " + event.getJobFinished().getMessage();
        }
      }
      return "the event stream ended without job_finished";
    } catch (io.grpc.StatusRuntimeException e) {
      return e.getStatus().getCode() + ": " + e.getStatus().getDescription();
    }
  }

  private int report(List<Round> rounds) {
    PrintWriter out = commandSpec.commandLine().getOut();
    long first = rounds.isEmpty() ? 0 : rounds.get(0).rssBytes();
    double worst = rounds.stream().mapToDouble(r -> (double) r.rssBytes() / first).max()
        .orElse(Double.NaN);
    List<String> failures = rounds.stream().flatMap(r -> r.failures().stream()).toList();
    boolean complete = rounds.size() == this.rounds;
    if (json) {
      JsonObject root = new JsonObject();
      root.add("machine", MachineInfo.current().toJson());
      JsonArray list = new JsonArray();
      for (Round round : rounds) {
        JsonObject entry = new JsonObject();
        entry.addProperty("round", round.number());
        entry.addProperty("seconds", round.seconds());
        entry.addProperty("rssBytes", round.rssBytes());
        entry.addProperty("ratioToFirst", (double) round.rssBytes() / first);
        list.add(entry);
      }
      root.add("rounds", list);
      root.addProperty("worstRatio", worst);
      JsonArray failed = new JsonArray();
      failures.forEach(failed::add);
      root.add("failures", failed);
      out.println(new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues()
          .create().toJson(root));
    } else {
      out.println(MachineInfo.current().describe());
      out.printf(Locale.ROOT, "examples %s, one after another, %d rounds, one server JVM%n",
          String.join(", ", examples), this.rounds);
      out.printf(Locale.ROOT, "%-6s %10s %16s %12s%n", "round", "seconds", "resident (MB)",
          "vs round 1");
      for (Round round : rounds) {
        out.printf(Locale.ROOT, "%-6d %10.0f %16d %+11.1f%%%n", round.number(), round.seconds(),
            round.rssBytes() >> 20, 100.0 * round.rssBytes() / first - 100);
      }
      out.printf(Locale.ROOT, "worst round against the first: %+.1f%% (target: at most +20%%); "
          + "%s%n", 100 * worst - 100, failures.isEmpty() && complete ? "every job succeeded"
          : "FAILED: " + failures);
    }
    out.flush();
    return failures.isEmpty() && complete ? 0 : 1;
  }
}
