package tandem.bench.twohead;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tandem.api.v1.JobSpec;
import tandem.bench.ActorRun;
import tandem.bench.BareLoop;
import tandem.bench.BareRun;
import tandem.bench.EmbeddedTandem;
import tandem.bench.GcTime;
import tandem.bench.MachineInfo;
import tandem.bench.Median;
import tandem.model.spec.JobSpecCompiler;
import tandem.model.spec.TrainingPlan;

/**
 * The "walking system" benchmark: the two-head job ({@link TwoHeadJob}) through the full actor
 * path with one local worker, next to the plain single-thread loop over the same compiled plan,
 * in one JVM. After a warm-up of each, it measures {@code --repeats} times, alternating which
 * path goes first so that drift hits both, and reports the medians and their ratio
 * (actor / bare; 1.0 means the actor path costs nothing). Both paths start from the same seed, so
 * their step losses must agree; the report says whether they do, bit for bit.
 *
 * <p>Over 400 lines: the measuring loop, its timing of GC around each run and its two report
 * formats (table and JSON) read best together.
 */
@Command(name = "two-head", mixinStandardHelpOptions = true,
    description = "Two-head MLP: full actor path (1 local worker, sync, 1 step in flight) "
        + "vs. the bare single-thread loop.")
public final class TwoHeadBench implements Callable<Integer> {

  @Option(names = "--steps", defaultValue = "2000",
      description = "Steps per measured run, over both tasks (default: ${DEFAULT-VALUE}).")
  long steps;

  @Option(names = "--repeats", defaultValue = "7",
      description = "Measured runs of each path (default: ${DEFAULT-VALUE}).")
  int repeats;

  @Option(names = "--warmup-steps", defaultValue = "4000",
      description = "Steps of each warm-up run of each path (default: ${DEFAULT-VALUE}).")
  long warmupSteps;

  // The actor path has far more code for the JIT than the bare loop (actors, gRPC, protobuf):
  // with 2 turns of 2000 steps its first three measured runs were still 10-20% slower than the
  // later ones.
  @Option(names = "--warmup-turns", defaultValue = "6",
      description = "Warm-up runs of each path, in alternation (default: ${DEFAULT-VALUE}).")
  int warmupTurns;

  // A run straight after the other path's is slower for its whole length, the actor path's most
  // (in one JVM, 20 actor runs in a row: 15 at 460-510k ex/s; an actor run right after a bare
  // one: 290-390k; the worker thread used 27% more CPU time for the same 2,000 steps, with no
  // more waiting or context switches). A server runs jobs after jobs, not after a bare loop, so
  // each measured run follows a settle run of its own path.
  @Option(names = "--settle-runs", defaultValue = "1",
      description = "Unmeasured runs of the same path right before each measured run "
          + "(default: ${DEFAULT-VALUE}; 0: strict alternation, as before).")
  int settleRuns;

  @Option(names = "--rows", defaultValue = "8192",
      description = "Rows of the generated data set (default: ${DEFAULT-VALUE}).")
  int rows;

  @Option(names = "--seed", defaultValue = "1",
      description = "Seed of the data and of the job (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--events", defaultValue = "LIVE",
      description = "live: stream the job's events while it trains (default); after: read them "
          + "once it ended, to see what a live subscriber costs.")
  EmbeddedTandem.EventReading events;

  @Option(names = "--json", description = "Print one JSON object instead of a table.")
  boolean json;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec commandSpec;

  /** One measured repetition of both paths. */
  record Repetition(int index, boolean actorFirst, ActorRun actor, BareRun bare, Duration actorGc,
      Duration bareGc) {
    double ratio() {
      return actor.examplesPerSecond() / bare.examplesPerSecond();
    }

    double trainingRatio() {
      return actor.trainingExamplesPerSecond() / bare.trainingExamplesPerSecond();
    }
  }

  @Override
  public Integer call() throws Exception {
    if (steps <= 0 || repeats <= 0 || warmupSteps <= 0 || warmupTurns <= 0 || rows <= 0
        || settleRuns < 0) {
      throw new CommandLine.ParameterException(commandSpec.commandLine(),
          "--steps, --repeats, --warmup-steps, --warmup-turns and --rows must be positive, "
              + "--settle-runs >= 0");
    }
    MachineInfo machine = MachineInfo.current();
    Path dir = Files.createTempDirectory("tandem-bench-two-head");
    Path data = dir.resolve("two-head.csv");
    List<Repetition> repetitions = new ArrayList<>();
    try {
      TwoHeadData.writeCsv(data, rows, seed);
      JobSpec warmup = TwoHeadJob.spec(data, warmupSteps, seed);
      JobSpec measured = TwoHeadJob.spec(data, steps, seed);
      TrainingPlan warmupPlan = JobSpecCompiler.compile(warmup);
      TrainingPlan plan = JobSpecCompiler.compile(measured);
      try (EmbeddedTandem tandem = EmbeddedTandem.start(1)) {
        // In alternation, so that code both paths share is compiled for both before measuring.
        progress("warm-up: %d steps of each path, in %d turns", warmupTurns * warmupSteps,
            warmupTurns);
        for (int turn = 0; turn < warmupTurns; turn++) {
          // As before each measured run: a full collection after a long warm-up without one
          // left ND4J's deallocator threads a backlog that slowed the first measured run by 20%.
          System.gc();
          tandem.run(warmup, events);
          BareLoop.run(warmupPlan, warmupSteps);
        }
        for (int r = 0; r < repeats; r++) {
          boolean actorFirst = r % 2 == 0;
          ActorRun actor = null;
          BareRun bare = null;
          Duration actorGc = Duration.ZERO;
          Duration bareGc = Duration.ZERO;
          for (int turn = 0; turn < 2; turn++) {
            boolean actorTurn = actorFirst == (turn == 0);
            for (int settle = 0; settle < settleRuns; settle++) {
              System.gc();
              if (actorTurn) {
                tandem.run(measured, events);
              } else {
                BareLoop.run(plan, steps);
              }
            }
            System.gc();
            Duration gcBefore = GcTime.total();
            if (actorTurn) {
              actor = tandem.run(measured, events);
              actorGc = GcTime.total().minus(gcBefore);
            } else {
              bare = BareLoop.run(plan, steps);
              bareGc = GcTime.total().minus(gcBefore);
            }
          }
          Repetition repetition = new Repetition(r + 1, actorFirst, actor, bare, actorGc, bareGc);
          repetitions.add(repetition);
          progress("repetition %d/%d: actor %.0f ex/s, bare %.0f ex/s, ratio %.3f", r + 1,
              repeats, actor.examplesPerSecond(), bare.examplesPerSecond(), repetition.ratio());
        }
      }
    } finally {
      try (Stream<Path> files = Files.walk(dir)) {
        for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(file);
        }
      }
    }
    PrintWriter out = commandSpec.commandLine().getOut();
    if (json) {
      out.println(new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues()
          .create().toJson(toJson(machine, repetitions)));
    } else {
      printTable(out, machine, repetitions);
    }
    out.flush();
    return 0;
  }

  private JsonObject toJson(MachineInfo machine, List<Repetition> repetitions) {
    JsonObject settings = new JsonObject();
    settings.addProperty("steps", steps);
    settings.addProperty("repeats", repeats);
    settings.addProperty("warmupSteps", warmupSteps);
    settings.addProperty("warmupTurns", warmupTurns);
    settings.addProperty("settleRuns", settleRuns);
    settings.addProperty("rows", rows);
    settings.addProperty("seed", seed);
    settings.addProperty("batchSize", TwoHeadJob.BATCH_SIZE);
    settings.addProperty("hidden", TwoHeadJob.HIDDEN);
    settings.addProperty("localWorkers", 1);
    settings.addProperty("events", events.name());

    JsonObject actor = new JsonObject();
    actor.addProperty("examplesPerSecond", median(repetitions, r -> r.actor().examplesPerSecond()));
    actor.addProperty("trainingExamplesPerSecond",
        median(repetitions, r -> r.actor().trainingExamplesPerSecond()));
    actor.addProperty("computeMicrosPerStep", median(repetitions, r -> micros(
        r.actor().computeTime().dividedBy(r.actor().steps()))));
    actor.addProperty("queueMicrosPerStep", median(repetitions, r -> micros(
        r.actor().queueTime().dividedBy(r.actor().steps()))));
    actor.addProperty("overheadMicrosPerStep",
        median(repetitions, r -> micros(r.actor().overheadPerStep())));
    actor.addProperty("gcMillis", median(repetitions, r -> millis(r.actorGc())));
    JsonObject bare = new JsonObject();
    bare.addProperty("examplesPerSecond", median(repetitions, r -> r.bare().examplesPerSecond()));
    bare.addProperty("trainingExamplesPerSecond",
        median(repetitions, r -> r.bare().trainingExamplesPerSecond()));
    bare.addProperty("microsPerStep",
        median(repetitions, r -> micros(r.bare().trainingTime().dividedBy(r.bare().steps()))));
    bare.addProperty("gcMillis", median(repetitions, r -> millis(r.bareGc())));

    JsonArray runs = new JsonArray();
    for (Repetition r : repetitions) {
      JsonObject run = new JsonObject();
      run.addProperty("repetition", r.index());
      run.addProperty("actorFirst", r.actorFirst());
      JsonObject actorRun = actorJson(r.actor());
      actorRun.addProperty("gcMillis", millis(r.actorGc()));
      JsonObject bareRun = bareJson(r.bare());
      bareRun.addProperty("gcMillis", millis(r.bareGc()));
      run.add("actor", actorRun);
      run.add("bare", bareRun);
      run.addProperty("ratio", r.ratio());
      run.addProperty("trainingRatio", r.trainingRatio());
      run.addProperty("evaluationIdentical", r.actor().evaluation().equals(r.bare().evaluation()));
      run.addProperty("lossesIdentical", r.actor().losses().identicalTo(r.bare().losses()));
      run.addProperty("maxAbsLossDifference",
          r.actor().losses().maxAbsDifference(r.bare().losses()));
      runs.add(run);
    }
    Repetition last = repetitions.get(repetitions.size() - 1);
    JsonObject finalLoss = new JsonObject();
    finalLoss.add("actor", losses(last.actor().losses().finalLosses()));
    finalLoss.add("bare", losses(last.bare().losses().finalLosses()));
    finalLoss.addProperty("lossesIdentical", allIdentical(repetitions));
    finalLoss.addProperty("evaluationsIdentical", evaluationsIdentical(repetitions));

    JsonObject root = new JsonObject();
    root.addProperty("benchmark", "two-head");
    root.add("settings", settings);
    root.add("machine", machine.toJson());
    root.add("actor", actor);
    root.add("bare", bare);
    root.addProperty("ratio", ratio(repetitions));
    root.addProperty("trainingRatio", trainingRatio(repetitions));
    root.add("finalLoss", finalLoss);
    root.add("repetitions", runs);
    return root;
  }

  private void printTable(PrintWriter out, MachineInfo machine, List<Repetition> repetitions) {
    out.printf("two-head: trunk %d→%d relu, 2 heads %d→%d, batch %d, Adam %s, round robin, sync,"
            + " 1 step in flight, 1 local worker%n", TwoHeadData.FEATURES, TwoHeadJob.HIDDEN,
        TwoHeadJob.HIDDEN, TwoHeadData.CLASSES, TwoHeadJob.BATCH_SIZE, TwoHeadJob.LEARNING_RATE);
    out.printf("%d steps per run, %d rows, %d repetitions after %d×%d warm-up steps, %d settle "
        + "run(s) of the same path before each measured run, events %s; %s%n%n", steps, rows,
        repeats, warmupTurns, warmupSteps, settleRuns, events.name().toLowerCase(),
        machine.describe());
    String format = "%-7s %11s %11s %6s %11s %11s %6s %8s %8s %6s %9s %9s%n";
    out.printf(format, "run", "actor ex/s", "bare ex/s", "ratio", "actor train", "bare train",
        "ratio", "bare µs", "comp µs", "queue", "overhead", "gc ms A/B");
    for (Repetition r : repetitions) {
      out.printf(format, r.index() + (r.actorFirst() ? " A>B" : " B>A"),
          whole(r.actor().examplesPerSecond()), whole(r.bare().examplesPerSecond()),
          String.format("%.3f", r.ratio()),
          whole(r.actor().trainingExamplesPerSecond()), whole(r.bare().trainingExamplesPerSecond()),
          String.format("%.3f", r.trainingRatio()),
          whole(micros(r.bare().trainingTime().dividedBy(r.bare().steps()))),
          whole(micros(r.actor().computeTime().dividedBy(r.actor().steps()))),
          whole(micros(r.actor().queueTime().dividedBy(r.actor().steps()))),
          whole(micros(r.actor().overheadPerStep())),
          whole(millis(r.actorGc())) + "/" + whole(millis(r.bareGc())));
    }
    out.printf(format, "median",
        whole(median(repetitions, r -> r.actor().examplesPerSecond())),
        whole(median(repetitions, r -> r.bare().examplesPerSecond())),
        String.format("%.3f", ratio(repetitions)),
        whole(median(repetitions, r -> r.actor().trainingExamplesPerSecond())),
        whole(median(repetitions, r -> r.bare().trainingExamplesPerSecond())),
        String.format("%.3f", trainingRatio(repetitions)),
        whole(median(repetitions,
            r -> micros(r.bare().trainingTime().dividedBy(r.bare().steps())))),
        whole(median(repetitions, r -> micros(r.actor().computeTime().dividedBy(r.actor().steps())))),
        whole(median(repetitions, r -> micros(r.actor().queueTime().dividedBy(r.actor().steps())))),
        whole(median(repetitions, r -> micros(r.actor().overheadPerStep()))),
        whole(median(repetitions, r -> millis(r.actorGc()))) + "/"
            + whole(median(repetitions, r -> millis(r.bareGc()))));
    out.printf("%nratio = actor / bare of the medians, both training and then running the job's"
        + " final evaluation: %.3f (the steps alone: %.3f)%n", ratio(repetitions),
        trainingRatio(repetitions));
    out.println("actor ex/s: JobFinished.examples_per_second (JobStarted to the end: steps, final"
        + " evaluation, parameter collection); bare ex/s: the step loop and the same evaluation;");
    out.println("actor train: JobStarted to the last step's event; bare train: the step loop;"
        + " bare µs: per step of it; comp µs: worker compute per step;");
    out.println("queue: µs per step from when it could start (dispatched, its trunk version"
        + " there) to its compute; overhead: µs per step outside compute (messages, sync round,");
    out.println("event log, GC); gc ms A/B: garbage collection during the actor run (submission"
        + " to the last event) and during the bare run");
    Repetition last = repetitions.get(repetitions.size() - 1);
    out.printf("%nfinal loss   %s%n", String.join("  ", last.bare().losses().finalLosses().keySet()
        .stream().map(t -> String.format("%-20s", t)).toList()));
    out.printf("actor        %s%n", lossRow(last.actor().losses().finalLosses()));
    out.printf("bare         %s%n", lossRow(last.bare().losses().finalLosses()));
    double maxDifference = repetitions.stream()
        .mapToDouble(r -> r.actor().losses().maxAbsDifference(r.bare().losses())).max().orElse(0);
    out.printf("every step's loss identical in every repetition: %s (max |difference| %s)%n",
        allIdentical(repetitions) ? "yes" : "no", maxDifference);
    out.printf("final evaluation identical in every repetition: %s (%s)%n",
        evaluationsIdentical(repetitions) ? "yes" : "no", last.actor().evaluation());
  }

  private static JsonObject actorJson(ActorRun run) {
    JsonObject json = new JsonObject();
    json.addProperty("examplesPerSecond", run.examplesPerSecond());
    json.addProperty("trainingExamplesPerSecond", run.trainingExamplesPerSecond());
    json.addProperty("steps", run.steps());
    json.addProperty("examples", run.examples());
    json.addProperty("elapsedSeconds", seconds(run.elapsed()));
    json.addProperty("trainingSeconds", seconds(run.trainingTime()));
    json.addProperty("computeSeconds", seconds(run.computeTime()));
    json.addProperty("queueSeconds", seconds(run.queueTime()));
    json.addProperty("clientSeconds", seconds(run.clientTime()));
    json.addProperty("computeMicrosPerStep", micros(run.computeTime().dividedBy(run.steps())));
    json.addProperty("queueMicrosPerStep", micros(run.queueTime().dividedBy(run.steps())));
    json.addProperty("overheadMicrosPerStep", micros(run.overheadPerStep()));
    json.add("finalLoss", losses(run.losses().finalLosses()));
    json.add("evaluation", losses(run.evaluation()));
    return json;
  }

  private static JsonObject bareJson(BareRun run) {
    JsonObject json = new JsonObject();
    json.addProperty("examplesPerSecond", run.examplesPerSecond());
    json.addProperty("steps", run.steps());
    json.addProperty("examples", run.examples());
    json.addProperty("elapsedSeconds", seconds(run.elapsed()));
    json.addProperty("trainingExamplesPerSecond", run.trainingExamplesPerSecond());
    json.addProperty("trainingSeconds", seconds(run.trainingTime()));
    json.addProperty("microsPerStep", micros(run.trainingTime().dividedBy(run.steps())));
    json.add("evaluation", losses(run.evaluation()));
    json.add("finalLoss", losses(run.losses().finalLosses()));
    return json;
  }

  private static JsonObject losses(Map<String, Double> byTask) {
    JsonObject json = new JsonObject();
    byTask.forEach(json::addProperty);
    return json;
  }

  private static String lossRow(Map<String, Double> byTask) {
    return String.join("  ", byTask.values().stream()
        .map(loss -> String.format("%-20s", loss)).toList());
  }

  private static boolean evaluationsIdentical(List<Repetition> repetitions) {
    return repetitions.stream().allMatch(r -> r.actor().evaluation().equals(r.bare().evaluation()));
  }

  private static boolean allIdentical(List<Repetition> repetitions) {
    return repetitions.stream().allMatch(r -> r.actor().losses().identicalTo(r.bare().losses()));
  }

  private static double ratio(List<Repetition> repetitions) {
    return median(repetitions, r -> r.actor().examplesPerSecond())
        / median(repetitions, r -> r.bare().examplesPerSecond());
  }

  private static double trainingRatio(List<Repetition> repetitions) {
    return median(repetitions, r -> r.actor().trainingExamplesPerSecond())
        / median(repetitions, r -> r.bare().trainingExamplesPerSecond());
  }

  private static double median(List<Repetition> repetitions, ToDoubleFunction<Repetition> figure) {
    return Median.of(repetitions.stream().mapToDouble(figure).toArray());
  }

  private void progress(String format, Object... args) {
    // Progress goes to stderr so that stdout holds the report alone (one JSON object with --json).
    commandSpec.commandLine().getErr().printf(format + "%n", args);
    commandSpec.commandLine().getErr().flush();
  }

  private static double micros(Duration duration) {
    return duration.toNanos() / 1e3;
  }

  private static double millis(Duration duration) {
    return duration.toNanos() / 1e6;
  }

  private static double seconds(Duration duration) {
    return duration.toNanos() / 1e9;
  }

  private static String whole(double value) {
    return String.format("%.0f", value);
  }
}
