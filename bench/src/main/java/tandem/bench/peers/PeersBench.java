package tandem.bench.peers;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.protobuf.util.JsonFormat;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tandem.api.v1.JobSpec;
import tandem.api.v1.TaskSpec;
import tandem.bench.ActorRun;
import tandem.bench.BareLoop;
import tandem.bench.BareRun;
import tandem.bench.EmbeddedTandem;
import tandem.bench.MachineInfo;
import tandem.bench.Median;
import tandem.bench.twohead.TwoHeadData;
import tandem.bench.twohead.TwoHeadJob;
import tandem.model.spec.JobSpecCompiler;
import tandem.model.spec.TaskGraph;
import tandem.model.spec.TrainingPlan;

/**
 * Tandem next to PyTorch on the same two workloads, in one run: the two-head MLP of
 * {@code two-head} and the CoNLL-2000 alternate tagger ({@code examples/conll2000-alternate.json}).
 * Each repetition runs, in an order that alternates: PyTorch (eager, one thread, a child process
 * running {@code bench/peers.py}), Tandem's single-thread reference loop, and Tandem's actor path
 * through gRPC (two-head: 1 local worker, sync; CoNLL: the default 2 local workers), CoNLL with
 * dense and with lazy embedding updates. Figures are training examples per second (steps only,
 * after a warm-up), medians over the repetitions, ratios of medians. Within a repetition,
 * PyTorch's figure is the fastest of {@link PytorchPeer#TIMINGS} timed runs in its process, and
 * each two-head Tandem figure follows a settle run of the same path ({@code --settle-runs}):
 * both guard against one system's run being slowed by what ran just before. The roofline column is the
 * time {@code cblas_sgemm} alone takes for the step's own products ({@link GemmRoofline}),
 * measured in the same run, divided by the step's time.
 */
@Command(name = "peers", mixinStandardHelpOptions = true,
    description = "Tandem vs PyTorch (eager, one thread) on the two-head MLP and CoNLL-2000 "
        + "alternate: examples/s, ratios, and the step's share of the sgemm roofline.")
public final class PeersBench implements Callable<Integer> {

  @Option(names = "--repeats", defaultValue = "5",
      description = "Measured repetitions of every system (default: ${DEFAULT-VALUE}).")
  int repeats;

  @Option(names = "--two-head-steps", defaultValue = "2000",
      description = "Steps per two-head run (default: ${DEFAULT-VALUE}).")
  int twoHeadSteps;

  @Option(names = "--conll-steps", defaultValue = "600",
      description = "Steps per CoNLL run, over both tasks (default: ${DEFAULT-VALUE}).")
  int conllSteps;

  // As the two-head bench warms up: the actor path has far more code for the JIT than the bare
  // loop, and after 3 turns of 2,000 steps its runs here were still at 0.64 of the loop against
  // 0.9 there.
  @Option(names = "--warmup-turns", defaultValue = "6",
      description = "Warm-up runs of Tandem's paths before measuring (default: ${DEFAULT-VALUE}).")
  int warmupTurns;

  @Option(names = "--two-head-warmup-steps", defaultValue = "4000",
      description = "Steps of each two-head warm-up run (default: ${DEFAULT-VALUE}).")
  int twoHeadWarmupSteps;

  // As in two-head: a Tandem run straight after another system's is slower for its whole
  // length (the actor path's most), so each measured two-head run of Tandem follows a settle run
  // of its own path. PyTorch warms up in its own process before it measures. Not for CoNLL,
  // whose runs are 20 times longer.
  @Option(names = "--settle-runs", defaultValue = "1",
      description = "Unmeasured two-head runs of the same Tandem path right before each "
          + "measured one (default: ${DEFAULT-VALUE}; 0: none, as before).")
  int settleRuns;

  @Option(names = "--workloads", split = ",", defaultValue = "two-head,conll",
      description = "Workloads to run (default: ${DEFAULT-VALUE}).")
  List<String> workloads;

  @Option(names = "--python", defaultValue = "/usr/bin/python3",
      description = "Python with Debian's python3-torch (default: ${DEFAULT-VALUE}).")
  String python;

  @Option(names = "--base-dir", defaultValue = ".",
      description = "Repository root: examples/, bench/peers.py and ../shared/data are found "
          + "from here (default: ${DEFAULT-VALUE}).")
  Path baseDir;

  @Option(names = "--json", description = "Print one JSON object instead of a table.")
  boolean json;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec commandSpec;

  /** One system's examples per second, one entry per repetition. */
  private final Map<String, List<Double>> rates = new LinkedHashMap<>();
  private final Map<String, Double> rooflines = new LinkedHashMap<>();
  private String pytorchNote;

  @Override
  public Integer call() throws Exception {
    if (repeats <= 0 || twoHeadSteps <= 0 || twoHeadWarmupSteps <= 0 || conllSteps <= 0
        || warmupTurns < 0 || settleRuns < 0) {
      throw new CommandLine.ParameterException(commandSpec.commandLine(),
          "--repeats, --two-head-steps, --two-head-warmup-steps and --conll-steps must be "
              + "positive, --warmup-turns and --settle-runs >= 0");
    }
    MachineInfo machine = MachineInfo.current();
    double loadBefore = loadAverage();
    pytorchNote = PytorchPeer.check(python);
    if (workloads.contains("two-head")) {
      twoHead();
    }
    if (workloads.contains("conll")) {
      conll();
    }
    double loadAfter = loadAverage();
    PrintWriter out = commandSpec.commandLine().getOut();
    if (json) {
      out.println(new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues()
          .create().toJson(toJson(machine, loadBefore, loadAfter)));
    } else {
      printTable(out, machine, loadBefore, loadAfter);
    }
    out.flush();
    return 0;
  }

  private void twoHead() throws Exception {
    Path dir = Files.createTempDirectory("tandem-bench-peers");
    Path data = dir.resolve("two-head.csv");
    try {
      TwoHeadData.writeCsv(data, 8192, 1);
      JobSpec spec = TwoHeadJob.spec(data, twoHeadSteps, 1);
      TrainingPlan plan = JobSpecCompiler.compile(spec);
      JobSpec warmup = TwoHeadJob.spec(data, twoHeadWarmupSteps, 1);
      TrainingPlan warmupPlan = JobSpecCompiler.compile(warmup);
      roofline("two-head", plan);
      try (EmbeddedTandem tandem = EmbeddedTandem.start(1)) {
        progress("two-head: warm-up");
        for (int turn = 0; turn < warmupTurns; turn++) {
          System.gc();
          tandem.run(warmup, EmbeddedTandem.EventReading.LIVE);
          BareLoop.run(warmupPlan, twoHeadWarmupSteps);
        }
        for (int r = 0; r < repeats; r++) {
          List<Runnable> order = new ArrayList<>(List.of(
              () -> pytorch("two-head", twoHeadSteps),
              () -> record("two-head/tandem-loop", settled(() -> bare(plan, twoHeadSteps))),
              () -> record("two-head/tandem-actor", settled(() -> actor(tandem, spec)))));
          runRotated(order, r);
          progress("two-head repetition %d/%d: %s", r + 1, repeats, latest("two-head/"));
        }
      }
    } finally {
      Files.deleteIfExists(data);
      Files.deleteIfExists(dir);
    }
  }

  private void conll() throws Exception {
    JobSpec dense = conllSpec(false);
    JobSpec lazy = conllSpec(true);
    TrainingPlan densePlan = JobSpecCompiler.compile(dense, baseDir);
    TrainingPlan lazyPlan = JobSpecCompiler.compile(lazy, baseDir);
    roofline("conll", densePlan);
    try (EmbeddedTandem tandem = EmbeddedTandem.start(2, baseDir.resolve("../shared/data"))) {
      progress("conll: warm-up");
      for (int turn = 0; turn < Math.min(1, warmupTurns); turn++) {
        for (JobSpec spec : List.of(dense, lazy)) {
          tandem.run(spec, EmbeddedTandem.EventReading.LIVE);
        }
        BareLoop.run(densePlan, conllSteps);
        BareLoop.run(lazyPlan, conllSteps);
      }
      for (int r = 0; r < repeats; r++) {
        List<Runnable> order = new ArrayList<>(List.of(
            () -> pytorch("conll", conllSteps),
            () -> record("conll/tandem-loop", bare(densePlan, conllSteps)),
            () -> record("conll/tandem-actor", actor(tandem, dense)),
            () -> record("conll/tandem-loop-lazy", bare(lazyPlan, conllSteps)),
            () -> record("conll/tandem-actor-lazy", actor(tandem, lazy))));
        runRotated(order, r);
        progress("conll repetition %d/%d: %s", r + 1, repeats, latest("conll/"));
      }
    }
  }

  /** examples/conll2000-alternate.json for {@code --conll-steps}, data paths made absolute. */
  private JobSpec conllSpec(boolean lazy) throws IOException {
    JobSpec.Builder spec = JobSpec.newBuilder();
    JsonFormat.parser().merge(Files.readString(
        baseDir.resolve("examples/conll2000-alternate.json")), spec);
    spec.getStopBuilder().setMaxSteps(conllSteps);
    if (lazy) {
      spec.getOptimizerBuilder().setEmbeddingUpdates("lazy");
    }
    for (TaskSpec.Builder task : spec.getTasksBuilderList()) {
      task.getDataBuilder().getConllBuilder().setPath(absolute(task.getData().getConll().getPath()));
      task.getEvalDataBuilder().getConllBuilder().setPath(
          absolute(task.getEvalData().getConll().getPath()));
    }
    return spec.build();
  }

  private String absolute(String path) {
    return baseDir.resolve(path).toAbsolutePath().normalize().toString();
  }

  /** Runs the repetition's systems starting at a different one each time. */
  private static void runRotated(List<Runnable> systems, int repetition) {
    for (int i = 0; i < systems.size(); i++) {
      System.gc();
      systems.get((i + repetition) % systems.size()).run();
    }
  }

  /** {@code run}'s figure after {@link #settleRuns} unmeasured runs of it. */
  private double settled(java.util.function.DoubleSupplier run) {
    for (int settle = 0; settle < settleRuns; settle++) {
      System.gc();
      run.getAsDouble();
    }
    System.gc();
    return run.getAsDouble();
  }

  private static double bare(TrainingPlan plan, int steps) {
    BareRun run = BareLoop.run(plan, steps);
    return run.trainingExamplesPerSecond();
  }

  private static double actor(EmbeddedTandem tandem, JobSpec spec) {
    try {
      ActorRun run = tandem.run(spec, EmbeddedTandem.EventReading.LIVE);
      return run.trainingExamplesPerSecond();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private void record(String system, double examplesPerSecond) {
    rates.computeIfAbsent(system, s -> new ArrayList<>()).add(examplesPerSecond);
  }

  private String latest(String prefix) {
    StringBuilder line = new StringBuilder();
    rates.forEach((system, values) -> {
      if (system.startsWith(prefix)) {
        line.append(String.format("%s %.0f  ", system.substring(prefix.length()),
            values.get(values.size() - 1)));
      }
    });
    return line.toString().trim();
  }

  /** Median gemm time per step over the plan's tasks, as a share of a step, kept per workload. */
  private void roofline(String workload, TrainingPlan plan) {
    double seconds = 0;
    double flops = 0;
    for (TaskGraph task : plan.graph().tasks()) {
      GemmRoofline roofline = GemmRoofline.of(task);
      seconds += roofline.gemmSecondsPerStep(7, 50);
      flops += roofline.flops();
    }
    int tasks = plan.graph().tasks().size();
    rooflines.put(workload + "/gemmSecondsPerStep", seconds / tasks);
    rooflines.put(workload + "/flopsPerStep", flops / tasks);
    rooflines.put(workload + "/batch", (double) plan.graph().tasks().get(0).batchSize());
  }

  private void pytorch(String workload, int steps) {
    if (pytorchNote != null) {
      return;
    }
    PytorchPeer.Result result = PytorchPeer.run(python, baseDir, workload, steps);
    record(workload + "/pytorch", result.examplesPerSecond());
    rooflines.putIfAbsent("pytorch/threads", result.threads());
    pytorchVersion = result.version();
  }

  private String pytorchVersion = "not run";

  private double median(String system) {
    List<Double> values = rates.get(system);
    return values == null ? Double.NaN
        : Median.of(values.stream().mapToDouble(Double::doubleValue).toArray());
  }

  /** The step time a system's median rate gives, against the roofline's gemm time. */
  private double rooflineShare(String workload, String system) {
    double stepSeconds = rooflines.get(workload + "/batch") / median(workload + "/" + system);
    return rooflines.get(workload + "/gemmSecondsPerStep") / stepSeconds;
  }

  private static final List<String[]> ROWS = List.of(
      new String[] {"two-head", "pytorch", "PyTorch eager, 1 thread"},
      new String[] {"two-head", "tandem-loop", "Tandem reference loop"},
      new String[] {"two-head", "tandem-actor", "Tandem actor path, 1 worker, sync"},
      new String[] {"conll", "pytorch", "PyTorch eager, 1 thread"},
      new String[] {"conll", "tandem-loop", "Tandem reference loop, dense"},
      new String[] {"conll", "tandem-actor", "Tandem actor path, 2 workers, dense"},
      new String[] {"conll", "tandem-loop-lazy", "Tandem reference loop, lazy"},
      new String[] {"conll", "tandem-actor-lazy", "Tandem actor path, 2 workers, lazy"});

  private void printTable(PrintWriter out, MachineInfo machine, double loadBefore,
      double loadAfter) {
    out.println("peers: training examples/s (steps only), median of " + repeats
        + " repetitions (two-head: " + settleRuns + " settle run(s) of the same Tandem path before"
        + " each measured one); " + machine.describe());
    out.printf("load average (1 min) %.1f before, %.1f after; PyTorch %s%n", loadBefore,
        loadAfter, pytorchNote == null ? pytorchVersion : "-");
    if (pytorchNote != null) {
      out.println(pytorchNote);
    }
    out.printf("%-9s %-38s %11s %10s %10s  %s%n", "workload", "system", "examples/s",
        "x PyTorch", "roofline", "repetitions");
    for (String[] row : ROWS) {
      String key = row[0] + "/" + row[1];
      if (!rates.containsKey(key)) {
        continue;
      }
      double value = median(key);
      double pytorch = median(row[0] + "/pytorch");
      out.printf("%-9s %-38s %11.0f %10s %10.2f  %s%n", row[0], row[2], value,
          Double.isNaN(pytorch) ? "-" : String.format("%.2f", value / pytorch),
          rooflineShare(row[0], row[1]), rates.get(key).stream()
              .map(v -> String.format("%.0f", v)).toList());
    }
    for (String workload : List.of("two-head", "conll")) {
      if (rooflines.containsKey(workload + "/gemmSecondsPerStep")) {
        double seconds = rooflines.get(workload + "/gemmSecondsPerStep");
        double flops = rooflines.get(workload + "/flopsPerStep");
        out.printf("%s: %.1f MFLOP of products per step; cblas_sgemm alone %.0f us per step "
            + "(%.1f GFLOP/s at the step's shapes)%n", workload, flops / 1e6, seconds * 1e6,
            flops / seconds / 1e9);
      }
    }
    if (rates.containsKey("two-head/tandem-actor")) {
      out.printf("two-head actor / loop: %.3f%n",
          median("two-head/tandem-actor") / median("two-head/tandem-loop"));
    }
    out.println("roofline = cblas_sgemm time for the step's own products / the step's time "
        + "(1.0: nothing but matrix products)");
  }

  private JsonObject toJson(MachineInfo machine, double loadBefore, double loadAfter) {
    JsonObject json = new JsonObject();
    json.add("machine", machine.toJson());
    json.addProperty("loadAverageBefore", loadBefore);
    json.addProperty("loadAverageAfter", loadAfter);
    json.addProperty("repeats", repeats);
    json.addProperty("settleRuns", settleRuns);
    json.addProperty("pytorch", pytorchNote == null ? pytorchVersion : pytorchNote);
    JsonObject systems = new JsonObject();
    for (String[] row : ROWS) {
      String key = row[0] + "/" + row[1];
      if (!rates.containsKey(key)) {
        continue;
      }
      JsonObject system = new JsonObject();
      system.addProperty("description", row[2]);
      system.addProperty("examplesPerSecond", median(key));
      system.addProperty("vsPytorch", median(key) / median(row[0] + "/pytorch"));
      system.addProperty("roofline", rooflineShare(row[0], row[1]));
      JsonArray values = new JsonArray();
      rates.get(key).forEach(values::add);
      system.add("repetitions", values);
      systems.add(key, system);
    }
    json.add("systems", systems);
    JsonObject roofline = new JsonObject();
    rooflines.forEach(roofline::addProperty);
    json.add("roofline", roofline);
    return json;
  }

  private static double loadAverage() {
    return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
  }

  private static void progress(String format, Object... args) {
    System.err.printf(format + "%n", args);
  }
}
