package tandem.bench.serving;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.protobuf.util.JsonFormat;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tandem.api.v1.InferenceServiceGrpc;
import tandem.api.v1.JobSpec;
import tandem.api.v1.LoadModelRequest;
import tandem.api.v1.ModelServiceGrpc;
import tandem.api.v1.PredictRequest;
import tandem.api.v1.Row;
import tandem.api.v1.TaskSpec;
import tandem.bench.MachineInfo;
import tandem.model.bundle.BundleWriter;
import tandem.model.bundle.ModelBundle;
import tandem.model.spec.ServingGraphs;
import tandem.model.train.ModelParameters;
import tandem.orchestrator.ServerSettings;
import tandem.orchestrator.TandemServer;

/**
 * Serving one trunk with many heads: Predict latency (p50, p99) over gRPC on 127.0.0.1 with the
 * bundle of {@code examples/many-heads.json} (200 heads, a random task per request) against a
 * bundle of the same trunk with one head, and the bundle's size against one single-head bundle
 * per task. A request runs the trunk and one head, so the target ratio is <= 1.1. Parameters are
 * the spec's seeded initial values: latency does not depend on them.
 */
@Command(name = "serving", mixinStandardHelpOptions = true,
    description = "Predict latency with a 200-head bundle vs a 1-head bundle of the same trunk "
        + "(target p50 ratio <= 1.1), and bundle sizes.")
public final class ServingBench implements Callable<Integer> {

  @Option(names = "--spec", defaultValue = "examples/many-heads.json",
      description = "The many-heads job spec (default: ${DEFAULT-VALUE}, found above the working "
          + "directory).")
  Path spec;

  @Option(names = "--requests", defaultValue = "3000",
      description = "Measured requests per bundle and delay setting (default: ${DEFAULT-VALUE}).")
  int requests;

  @Option(names = "--warmup", defaultValue = "2000",
      description = "Unmeasured requests per bundle first (default: ${DEFAULT-VALUE}).")
  int warmup;

  @Option(names = "--rows", defaultValue = "1", description = "Rows per request (default: ${DEFAULT-VALUE}).")
  int rows;

  @Option(names = "--max-delay", split = ",", defaultValue = "2ms,0ms",
      description = "Batching delays to measure with (tandem.orchestrator.serving.max-delay; "
          + "default: ${DEFAULT-VALUE}).")
  List<String> delays;

  @Option(names = "--json", description = "Print one JSON object instead of a table.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    PrintStream out = System.out;
    JobSpec many = read(spec);
    JobSpec one = singleHead(many, many.getTasks(0));
    Path dir = Files.createTempDirectory("tandem-serving-bench");
    Map<String, INDArray> parameters = ModelParameters.initial(ServingGraphs.resolve(many),
        many.getSeed(), DataType.FLOAT);
    Path manyFile = write(dir.resolve("many.tandem"), many, parameters);
    Path oneFile = write(dir.resolve("one.tandem"), one, parameters);
    long separate = 0;
    Path separateDir = Files.createDirectories(dir.resolve("separate"));
    for (TaskSpec task : many.getTasksList()) {
      separate += Files.size(write(separateDir.resolve(task.getName() + ".tandem"),
          singleHead(many, task), parameters));
    }
    JsonObject report = new JsonObject();
    report.add("machine", MachineInfo.current().toJson());
    report.addProperty("heads", many.getTasksCount());
    report.addProperty("rowsPerRequest", rows);
    report.addProperty("bundleBytes", Files.size(manyFile));
    report.addProperty("oneHeadBundleBytes", Files.size(oneFile));
    report.addProperty("separateBundlesBytes", separate);
    JsonArray runs = new JsonArray();
    for (String delay : delays) {
      runs.add(measure(delay.trim(), manyFile, oneFile, many));
    }
    report.add("runs", runs);
    if (json) {
      out.println(new GsonBuilder().setPrettyPrinting().create().toJson(report));
    } else {
      print(out, report);
    }
    deleteTree(dir);
    return 0;
  }

  private JsonObject measure(String delay, Path manyFile, Path oneFile, JobSpec many)
      throws Exception {
    // LoadModel reads only under the models directory: the bundles' own.
    Config config = ConfigFactory.parseString("tandem.orchestrator.serving.max-delay = " + delay)
        .withFallback(ConfigFactory.parseMap(java.util.Map.of("tandem.orchestrator.model-dir",
            manyFile.toAbsolutePath().getParent().toString())))
        .withFallback(ConfigFactory.load());
    ServerSettings settings = ServerSettings.create(config).withHost("127.0.0.1").withPort(0)
        .withLocalWorkers(1);
    try (TandemServer server = TandemServer.start(settings, config)) {
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port())
          .usePlaintext().build();
      try {
        ModelServiceGrpc.ModelServiceBlockingStub models = ModelServiceGrpc.newBlockingStub(channel);
        models.loadModel(LoadModelRequest.newBuilder().setPath(manyFile.toString())
            .setName("many").build());
        models.loadModel(LoadModelRequest.newBuilder().setPath(oneFile.toString())
            .setName("one").build());
        InferenceServiceGrpc.InferenceServiceBlockingStub stub =
            InferenceServiceGrpc.newBlockingStub(channel);
        List<String> manyTasks = many.getTasksList().stream().map(TaskSpec::getName).toList();
        List<String> oneTask = List.of(many.getTasks(0).getName());
        SplittableRandom random = new SplittableRandom(1);
        // Warm both, every task of the many-head bundle at least once.
        run(stub, "many", manyTasks, Math.max(warmup, 2 * manyTasks.size()), random, null);
        run(stub, "one", oneTask, warmup, random, null);
        // Alternate blocks so that drift in the machine's speed hits both bundles alike.
        List<Long> manyNanos = new ArrayList<>();
        List<Long> oneNanos = new ArrayList<>();
        int blocks = 10;
        for (int b = 0; b < blocks; b++) {
          run(stub, "many", manyTasks, requests / blocks, random, manyNanos);
          run(stub, "one", oneTask, requests / blocks, random, oneNanos);
        }
        JsonObject result = new JsonObject();
        result.addProperty("maxDelay", delay);
        result.add("manyHeads", percentiles(manyNanos));
        result.add("oneHead", percentiles(oneNanos));
        result.addProperty("p50Ratio", percentile(manyNanos, 0.50) / percentile(oneNanos, 0.50));
        result.addProperty("p99Ratio", percentile(manyNanos, 0.99) / percentile(oneNanos, 0.99));
        return result;
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private void run(InferenceServiceGrpc.InferenceServiceBlockingStub stub, String model,
      List<String> tasks, int count, SplittableRandom random, List<Long> nanos) {
    for (int i = 0; i < count; i++) {
      PredictRequest.Builder request = PredictRequest.newBuilder().setModel(model)
          .setTask(tasks.get(random.nextInt(tasks.size())));
      for (int r = 0; r < rows; r++) {
        Row.Builder row = Row.newBuilder();
        for (int j = 0; j < 8; j++) {
          row.addValues((float) random.nextDouble(-1, 1));
        }
        request.addInputs(row);
      }
      PredictRequest built = request.build();
      long start = System.nanoTime();
      stub.withDeadlineAfter(10, TimeUnit.SECONDS).predict(built);
      long elapsed = System.nanoTime() - start;
      if (nanos != null) {
        nanos.add(elapsed);
      }
    }
  }

  /** The trunk, one task and its head: a single-head model of the same trunk. */
  static JobSpec singleHead(JobSpec many, TaskSpec task) {
    java.util.Set<String> used = new java.util.HashSet<>(task.getPathList());
    task.getOutputsList().forEach(output -> used.addAll(output.getModulesList()));
    return many.toBuilder().setName(many.getName() + "-" + task.getName()).clearModules()
        .addAllModules(many.getModulesList().stream().filter(m -> used.contains(m.getName()))
            .toList())
        .clearTasks().addTasks(task).clearSchedule().build();
  }

  private static Path write(Path file, JobSpec spec, Map<String, INDArray> all) throws Exception {
    Map<String, INDArray> parameters = new java.util.LinkedHashMap<>();
    spec.getModulesList().forEach(m -> parameters.put(m.getName(), all.get(m.getName())));
    BundleWriter.write(new ModelBundle(spec, parameters, ModelBundle.provenance("bench", spec, 0,
        Map.of()), List.of()), file);
    return file;
  }

  private static JobSpec read(Path path) throws Exception {
    Path file = path;
    Path dir = Path.of("").toAbsolutePath();
    while (!path.isAbsolute() && !Files.isRegularFile(file) && dir != null) {
      file = dir.resolve(path);
      dir = dir.getParent();
    }
    JobSpec.Builder spec = JobSpec.newBuilder();
    JsonFormat.parser().merge(Files.readString(file), spec);
    return spec.build();
  }

  private static JsonObject percentiles(List<Long> nanos) {
    JsonObject json = new JsonObject();
    json.addProperty("requests", nanos.size());
    json.addProperty("p50Micros", percentile(nanos, 0.50) / 1e3);
    json.addProperty("p90Micros", percentile(nanos, 0.90) / 1e3);
    json.addProperty("p99Micros", percentile(nanos, 0.99) / 1e3);
    json.addProperty("meanMicros", nanos.stream().mapToLong(Long::longValue).average()
        .orElse(0) / 1e3);
    return json;
  }

  /** Nearest-rank percentile. */
  static double percentile(List<Long> values, double p) {
    long[] sorted = values.stream().mapToLong(Long::longValue).sorted().toArray();
    int rank = (int) Math.ceil(p * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  private static void print(PrintStream out, JsonObject report) {
    out.println("serving: " + report.get("heads").getAsInt() + " heads on one trunk, "
        + report.get("rowsPerRequest").getAsInt() + " row(s) per request, one client");
    out.println("machine: " + MachineInfo.current().describe());
    out.printf("bundle: %,d bytes with %d heads; one head: %,d bytes; %d single-head bundles: "
        + "%,d bytes (%.1fx)%n", report.get("bundleBytes").getAsLong(),
        report.get("heads").getAsInt(), report.get("oneHeadBundleBytes").getAsLong(),
        report.get("heads").getAsInt(), report.get("separateBundlesBytes").getAsLong(),
        report.get("separateBundlesBytes").getAsDouble() / report.get("bundleBytes").getAsLong());
    out.printf("%-10s %-9s %10s %10s %10s  %s%n", "max-delay", "bundle", "p50 us", "p90 us",
        "p99 us", "ratio");
    for (var element : report.getAsJsonArray("runs")) {
      JsonObject run = element.getAsJsonObject();
      for (String which : new String[] {"manyHeads", "oneHead"}) {
        JsonObject p = run.getAsJsonObject(which);
        out.printf("%-10s %-9s %10.0f %10.0f %10.0f  %s%n", run.get("maxDelay").getAsString(),
            which.equals("manyHeads") ? "200 heads" : "1 head", p.get("p50Micros").getAsDouble(),
            p.get("p90Micros").getAsDouble(), p.get("p99Micros").getAsDouble(),
            which.equals("manyHeads") ? String.format("p50 %.3f, p99 %.3f (target p50 <= 1.1)",
                run.get("p50Ratio").getAsDouble(), run.get("p99Ratio").getAsDouble()) : "");
      }
    }
  }

  private static void deleteTree(Path dir) throws java.io.IOException {
    try (var paths = Files.walk(dir)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
