package tandem.bench.async;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tandem.api.v1.ConsistencySpec;
import tandem.api.v1.JobSpec;
import tandem.bench.ActorRun;
import tandem.bench.BareLoop;
import tandem.bench.EmbeddedTandem;
import tandem.bench.MachineInfo;
import tandem.bench.Settle;
import tandem.bench.ThreadCpu;
import tandem.bench.twohead.TwoHeadData;
import tandem.bench.twohead.TwoHeadJob;
import tandem.worker.Worker;

/**
 * Async training on the two-head MLP through the full actor path, side by side in one run: examples/s
 * with one and with two local workers against the machine's ceiling, two bare loops on two threads
 * against one (target: at least 0.95 of it, the issue on the compute core), and the
 * final loss of async training next to sync training after the same number of examples (target:
 * within 5%). The final loss is the mean step loss over the last tenth of the run, per task,
 * averaged over the tasks, so that one noisy batch does not decide it.
 *
 * <p>Beside the ceiling, {@link SharedTrunkLoops}: the same two loops sharing one trunk, in place
 * and in versions, with no actors, which splits the gap into what sharing the trunk costs the
 * hardware and what the actor machinery costs. Several settings of updates together (one server
 * each) and of steps in flight run in the same repetitions when given as lists.
 */
@Command(name = "async", mixinStandardHelpOptions = true,
    description = "Async examples/s with 1 and 2 workers, and async vs sync final loss.")
public final class AsyncScalingBench implements Callable<Integer> {

  @Option(names = "--steps", defaultValue = "10000", description = "Steps per run (default: ${DEFAULT-VALUE}).")
  long steps;

  @Option(names = "--repeats", defaultValue = "5", description = "Measured repetitions (default: ${DEFAULT-VALUE}).")
  int repeats;

  @Option(names = "--in-flight", defaultValue = "0", split = ",", paramLabel = "N",
      description = "Async steps in flight per worker, several compared side by side, e.g. 16,32"
          + " (default: ${DEFAULT-VALUE}, the job default of async jobs, 16: outcomes go to the"
          + " coordinator 8 at a time).")
  List<Integer> inFlight;

  /** One kind of async job the run compares: a server setting and a spec setting. */
  private record Variant(int together, int inFlight, boolean coordinatorOnWorker) {
    String label() {
      return together + " updates together, " + (inFlight == 0 ? "the default" : inFlight)
          + " in flight, coordinator on the " + (coordinatorOnWorker ? "worker's thread"
              : "default dispatcher");
    }

    /** The server this variant runs on: one per setting of the server. */
    Server server() {
      return new Server(together, coordinatorOnWorker);
    }
  }

  /** The server settings the variants compare. */
  private record Server(int together, boolean coordinatorOnWorker) {}

  // A run straight after another path's run is often slower for its whole length (see the
  // two-head benchmark): a single bare loop after the actor runs made the ceiling x2.0-2.4, more
  // than two cores can give. Each measured run follows an unmeasured one of its own kind.
  @Option(names = "--settle-runs", defaultValue = "1",
      description = "Unmeasured runs before each measured one, of the same kind (default:"
          + " ${DEFAULT-VALUE}).")
  int settleRuns;

  @Option(names = "--max-warmup-turns", defaultValue = "8",
      description = "Warm-up turns at most (default: ${DEFAULT-VALUE}); they stop once a turn"
          + " spends under --quiet-compile-share of its time compiling.")
  int maxWarmupTurns;

  @Option(names = "--quiet-compile-share", defaultValue = "0.01",
      description = "JIT compile time per wall time below which warm-up ends (default:"
          + " ${DEFAULT-VALUE}).")
  double quietCompileShare;

  @Option(names = "--rows", defaultValue = "8192", description = "Rows of the generated data (default: ${DEFAULT-VALUE}).")
  int rows;

  @Option(names = "--events", defaultValue = "LIVE",
      description = "live: stream the jobs' events while they train (default); after: read them "
          + "once each job ended, so no subscriber shares the cores with the workers.")
  EmbeddedTandem.EventReading events;

  @Option(names = "--updates-together", split = ",", paramLabel = "N",
      description = "Steps' shared gradients an async worker applies together, one server per"
          + " value compared side by side, e.g. 2,4 (default: the configured"
          + " tandem.worker.async-updates-together).")
  List<Integer> updatesTogether;

  @Option(names = "--coordinator-on-worker-thread", arity = "1", split = ",", paramLabel = "BOOL",
      description = "Whether coordinators run on their first worker's thread, one server per"
          + " value compared side by side, e.g. true,false (default: the configured"
          + " tandem.orchestrator.coordinator-on-worker-thread).")
  List<Boolean> coordinatorOnWorker;

  @Option(names = "--json", description = "Print one JSON object instead of a table.")
  boolean json;

  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  /** The server setting {@code --coordinator-on-worker-thread} compares. */
  static final String COORDINATOR_ON_WORKER_THREAD =
      "tandem.orchestrator.coordinator-on-worker-thread";

  /** A run with the CPU each thread group of this JVM took during it and its context switches. */
  private record Measured(ActorRun run, Map<String, Duration> cpu,
      Map<String, ThreadCpu.Switches> switches) {}

  /**
   * Arrays per shared module that the versioned sharing loops write their versions into in
   * turn: about as many as a job's master copy cycles through with two workers reading.
   */
  static final int SHARING_VERSIONS = 4;

  @Override
  public Integer call() throws Exception {
    PrintStream out = System.out;
    List<Integer> togethers = updatesTogether == null || updatesTogether.isEmpty()
        ? List.of(Worker.updatesTogether(com.typesafe.config.ConfigFactory.load()))
        : List.copyOf(updatesTogether);
    for (int together : togethers) {
      if (together < 1) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
            "--updates-together takes numbers of at least 1, found " + together);
      }
    }
    for (int n : inFlight) {
      if (n < 0) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
            "--in-flight takes numbers of at least 0 (0: the job default), found " + n);
      }
    }
    List<Boolean> placements = coordinatorOnWorker == null || coordinatorOnWorker.isEmpty()
        ? List.of(com.typesafe.config.ConfigFactory.load()
            .getBoolean(COORDINATOR_ON_WORKER_THREAD))
        : List.copyOf(coordinatorOnWorker);
    List<Variant> variants = new ArrayList<>();
    togethers.forEach(t -> inFlight.forEach(n -> placements.forEach(
        onWorker -> variants.add(new Variant(t, n, onWorker)))));
    Path dir = Files.createTempDirectory("tandem-bench-async");
    Path data = dir.resolve("two-head.csv");
    TwoHeadData.writeCsv(data, rows, 1);
    JobSpec base = TwoHeadJob.spec(data, steps, 1);
    Map<Integer, List<JobSpec>> asyncSpecs = new java.util.LinkedHashMap<>();
    inFlight.forEach(n -> asyncSpecs.put(n, List.of(async(base, 1, n), async(base, 2, n))));
    JobSpec sync = base.toBuilder().setWorkers(1).build();
    tandem.model.spec.TrainingPlan syncPlan = tandem.model.spec.JobSpecCompiler.compile(sync);
    Map<Variant, List<AsyncReport.Repetition>> byVariant = new java.util.LinkedHashMap<>();
    variants.forEach(v -> byVariant.put(v, new ArrayList<>()));
    Map<Server, EmbeddedTandem> servers = new java.util.LinkedHashMap<>();
    try {
      for (Variant variant : variants) {
        // One server per setting, all up for the whole run, so that the repetitions alternate
        // between them and compare them in the same phases of the machine.
        if (!servers.containsKey(variant.server())) {
          servers.put(variant.server(), EmbeddedTandem.start(2, false, Map.of(
              Worker.UPDATES_TOGETHER_SETTING, variant.together(),
              COORDINATOR_ON_WORKER_THREAD,
              variant.coordinatorOnWorker())));
        }
      }
      EmbeddedTandem first = servers.get(variants.get(0).server());
      // Turns of every kind of run the repetitions make, each after a full GC as there, until
      // a turn leaves the JIT compilers nearly idle: after a fixed three short turns the C2
      // compiler still took a tenth of a core during the measured two-worker runs, and the
      // one-worker runs grew 60% faster from the first repetition to the last.
      java.lang.management.CompilationMXBean jit =
          java.lang.management.ManagementFactory.getCompilationMXBean();
      for (int turn = 1; turn <= maxWarmupTurns; turn++) {
        long compiledBefore = jit.getTotalCompilationTime();
        long turnStart = System.nanoTime();
        for (Variant variant : variants) {
          for (JobSpec spec : asyncSpecs.get(variant.inFlight())) {
            System.gc();
            servers.get(variant.server()).run(spec, events);
          }
        }
        System.gc();
        first.run(sync, events);
        System.gc();
        bareExamplesPerSecond(syncPlan, 1);
        System.gc();
        bareExamplesPerSecond(syncPlan, 2);
        for (int together : togethers) {
          System.gc();
          SharedTrunkLoops.examplesPerSecond(syncPlan, steps, together);
          System.gc();
          SharedTrunkLoops.examplesPerSecond(syncPlan, steps, together, SHARING_VERSIONS);
        }
        long compileMillis = jit.getTotalCompilationTime() - compiledBefore;
        double share = compileMillis / ((System.nanoTime() - turnStart) / 1e6);
        progress("warm-up turn %d: %d ms compiling, %.1f%% of the turn", turn, compileMillis,
            100 * share);
        if (share < quietCompileShare) {
          break;
        }
      }
      for (int r = 1; r <= repeats; r++) {
        Map<Variant, Measured[]> actorRuns = new java.util.LinkedHashMap<>();
        for (Variant variant : variants) {
          EmbeddedTandem tandem = servers.get(variant.server());
          List<JobSpec> specs = asyncSpecs.get(variant.inFlight());
          actorRuns.put(variant, new Measured[] {settled(tandem, specs.get(0)),
              settled(tandem, specs.get(1))});
        }
        ActorRun syncRun = settled(first, sync).run();
        double bareOne = 0;
        double bareTwo = 0;
        for (int run = 0; run <= settleRuns; run++) {
          Settle.gcAndQuietJit();
          bareOne = bareExamplesPerSecond(syncPlan, 1);
        }
        for (int run = 0; run <= settleRuns; run++) {
          Settle.gcAndQuietJit();
          bareTwo = bareExamplesPerSecond(syncPlan, 2);
        }
        double sharingCost = CrossCoreProbe.sharingCost(20_000);
        Map<Integer, double[]> loops = new java.util.HashMap<>();
        for (int together : togethers) {
          double sharedTwo = 0;
          for (int run = 0; run <= settleRuns; run++) {
            Settle.gcAndQuietJit();
            sharedTwo = SharedTrunkLoops.examplesPerSecond(syncPlan, steps, together);
          }
          double versionedTwo = 0;
          for (int run = 0; run <= settleRuns; run++) {
            Settle.gcAndQuietJit();
            versionedTwo = SharedTrunkLoops.examplesPerSecond(syncPlan, steps, together,
                SHARING_VERSIONS);
          }
          loops.put(together, new double[] {sharedTwo, versionedTwo});
        }
        for (Variant variant : variants) {
          double sharedTwo = loops.get(variant.together())[0];
          double versionedTwo = loops.get(variant.together())[1];
          Measured oneMeasured = actorRuns.get(variant)[0];
          Measured twoMeasured = actorRuns.get(variant)[1];
          ActorRun one = oneMeasured.run();
          ActorRun two = twoMeasured.run();
          AsyncReport.Repetition repetition = new AsyncReport.Repetition(one, two, syncRun,
              bareOne, bareTwo, sharedTwo, versionedTwo, sharingCost);
          byVariant.get(variant).add(repetition);
          progress("repetition %d/%d%s: async 1 worker %.0f ex/s, 2 workers %.0f ex/s (x%.2f);"
              + " final loss async %.4f, sync %.4f; compute per step %d / %d us; queue per"
              + " step %d / %d us; bare loops on 1 and 2 threads x%.2f; %.2f of the ceiling;"
              + " two loops sharing the trunk x%.2f in place, x%.2f in versions (%.2f and %.2f of"
              + " the ceiling; the actor path %.2f and %.2f of them); state shared across the"
              + " cores x%.2f", r, repeats,
              variants.size() > 1 ? ", " + variant.label() : "",
              one.examplesPerSecond(), two.examplesPerSecond(), repetition.speedup(),
              AsyncReport.finalLoss(two.losses()), AsyncReport.finalLoss(syncRun.losses()),
              one.computeTime().dividedBy(one.steps()).toNanos() / 1000,
              two.computeTime().dividedBy(two.steps()).toNanos() / 1000,
              one.queueTime().dividedBy(one.steps()).toNanos() / 1000,
              two.queueTime().dividedBy(two.steps()).toNanos() / 1000,
              repetition.bareSpeedup(), repetition.ofCeiling(), repetition.sharedTrunkSpeedup(),
              repetition.versionedTrunkSpeedup(),
              repetition.sharedTrunkSpeedup() / repetition.bareSpeedup(),
              repetition.versionedTrunkSpeedup() / repetition.bareSpeedup(),
              repetition.ofSharedTrunk(), repetition.ofVersionedTrunk(), sharingCost);
          progress("  CPU per step by thread group, 1 worker: %s", perStep(oneMeasured));
          progress("  CPU per step by thread group, 2 workers: %s", perStep(twoMeasured));
          progress("  context switches per 100 steps (voluntary + involuntary), 1 worker: %s",
              switchesPer100(oneMeasured));
          progress("  context switches per 100 steps (voluntary + involuntary), 2 workers: %s",
              switchesPer100(twoMeasured));
        }
      }
    } finally {
      for (EmbeddedTandem server : servers.values()) {
        server.close();
      }
      Files.deleteIfExists(data);
      Files.deleteIfExists(dir);
    }
    MachineInfo machine = MachineInfo.current();
    if (json) {
      JsonObject result = new JsonObject();
      result.addProperty("benchmark", "async");
      result.addProperty("steps", steps);
      result.addProperty("stepsInFlightPerWorker", inFlight.get(0));
      result.addProperty("settleRuns", settleRuns);
      result.addProperty("events", events.name().toLowerCase(java.util.Locale.ROOT));
      JsonArray results = new JsonArray();
      byVariant.forEach((kind, repetitions) -> {
        JsonObject variant = AsyncReport.Summary.of(repetitions, steps).toJson();
        variant.addProperty("updatesTogether", kind.together());
        variant.addProperty("stepsInFlightPerWorker", kind.inFlight());
        variant.addProperty("coordinatorOnWorkerThread", kind.coordinatorOnWorker());
        variant.add("repetitions", AsyncReport.repetitionsJson(repetitions));
        results.add(variant);
      });
      result.add("variants", results);
      result.add("machine", machine.toJson());
      out.println(new GsonBuilder().setPrettyPrinting().create().toJson(result));
    } else {
      out.printf("async two-head: %d steps per run, %s in flight per worker, %d repetitions, %d"
          + " settle runs before each run, events %s; %s%n", steps,
          inFlight.stream().map(n -> n == 0 ? "the default number" : String.valueOf(n))
              .collect(java.util.stream.Collectors.joining(", ")), repeats, settleRuns,
          events.name().toLowerCase(java.util.Locale.ROOT), machine.describe());
      byVariant.forEach((kind, repetitions) -> AsyncReport.Summary.of(repetitions, steps)
          .print(out, kind.together(), variants.size() > 1 ? kind.label() : null));
    }
    return 0;
  }

  /**
   * The last of {@code settleRuns + 1} runs of {@code spec}, each after a full GC, with the CPU
   * this JVM's thread groups took during it.
   */
  private Measured settled(EmbeddedTandem tandem, JobSpec spec) throws Exception {
    Measured measured = null;
    for (int i = 0; i <= settleRuns; i++) {
      Settle.gcAndQuietJit();
      ThreadCpu.Snapshot before = ThreadCpu.snapshot();
      Map<String, ThreadCpu.Switches> switchesBefore = ThreadCpu.switchesByGroup();
      ActorRun run = tandem.run(spec, events);
      measured = new Measured(run, ThreadCpu.snapshot().since(before),
          ThreadCpu.minusSwitches(ThreadCpu.switchesByGroup(), switchesBefore));
    }
    return measured;
  }

  /** Microseconds of CPU per step of the run, per thread group that took any, largest first. */
  private static String perStep(Measured measured) {
    long steps = measured.run().steps();
    return measured.cpu().entrySet().stream().filter(e -> !e.getValue().isZero())
        .sorted(Map.Entry.<String, Duration>comparingByValue().reversed())
        .map(e -> String.format("%s %.1f", e.getKey(), e.getValue().toNanos() / 1e3 / steps))
        .collect(java.util.stream.Collectors.joining(", ")) + " us";
  }

  /**
   * Context switches per 100 steps of the run, voluntary + involuntary, per thread group with
   * at least one per 1,000 steps, most first.
   */
  private static String switchesPer100(Measured measured) {
    long steps = measured.run().steps();
    return measured.switches().entrySet().stream()
        .filter(e -> e.getValue().total() * 1000 >= steps)
        .sorted(java.util.Comparator.comparingLong(
            (Map.Entry<String, ThreadCpu.Switches> e) -> e.getValue().total()).reversed())
        .map(e -> String.format("%s %.1f + %.1f", e.getKey(),
            e.getValue().voluntary() * 100.0 / steps,
            e.getValue().involuntary() * 100.0 / steps))
        .collect(java.util.stream.Collectors.joining(", "));
  }

  private static JobSpec async(JobSpec base, int workers, int inFlight) {
    return base.toBuilder().setWorkers(workers)
        .setConsistency(ConsistencySpec.newBuilder().setMode("async").setStepsInFlight(inFlight))
        .build();
  }

  /**
   * Examples/s of {@code threads} independent bare loops ({@link BareLoop}) over the plan at once:
   * what the machine gives two compute threads with no actor machinery, the ceiling of any
   * two-worker speedup.
   */
  private double bareExamplesPerSecond(tandem.model.spec.TrainingPlan plan, int threads)
      throws InterruptedException {
    Thread[] loops = new Thread[threads];
    for (int i = 0; i < threads; i++) {
      loops[i] = new Thread(() -> BareLoop.run(plan, steps), "bare-" + i);
    }
    long start = System.nanoTime();
    for (Thread loop : loops) {
      loop.start();
    }
    for (Thread loop : loops) {
      loop.join();
    }
    return threads * steps * TwoHeadJob.BATCH_SIZE / ((System.nanoTime() - start) / 1e9);
  }

  private void progress(String format, Object... args) {
    System.err.printf(format + "%n", args);
  }
}
