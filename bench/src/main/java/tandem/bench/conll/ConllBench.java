package tandem.bench.conll;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.protobuf.util.JsonFormat;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tandem.api.v1.JobSpec;
import tandem.bench.MachineInfo;
import tandem.model.spec.JobSpecCompiler;
import tandem.model.spec.TrainingPlan;

/**
 * POS tagging and chunking on CoNLL-2000 (the examples {@code conll2000-pos}, {@code -chunk},
 * {@code -alternate} and {@code -joint}): trains each variant from scratch on the single-thread
 * reference loop ({@link ConllTraining}) and prints one table of per-token POS accuracy and
 * chunk F1 (precision / recall) on {@code test.txt}, training time and examples per second,
 * and whether multi-task chunk F1 beats single-task chunk F1.
 */
@Command(name = "conll", mixinStandardHelpOptions = true,
    description = "CoNLL-2000 POS tagging and chunking: alone, alternate and joint; POS accuracy "
        + "and chunk F1 on test.txt (single-thread reference loop).")
public final class ConllBench implements Callable<Integer> {

  static final List<String> VARIANTS = List.of("conll2000-pos", "conll2000-chunk",
      "conll2000-alternate", "conll2000-joint");

  @Option(names = "--variants", split = ",", description = "Variants to train, in order "
      + "(default: conll2000-pos,conll2000-chunk,conll2000-alternate,conll2000-joint).")
  List<String> variants = VARIANTS;

  @Option(names = "--examples", defaultValue = "examples",
      description = "Directory of the variants' job specs (default: ${DEFAULT-VALUE}).")
  Path examples;

  @Option(names = "--base-dir", defaultValue = ".",
      description = "Where the specs' relative data paths start: the repository root, as for a "
          + "server started there (default: ${DEFAULT-VALUE}).")
  Path baseDir;

  @Option(names = "--steps-per-task",
      description = "Overrides the specs' maxSteps with this many steps per task.")
  Long stepsPerTask;

  @Option(names = "--max-time",
      description = "Overrides the specs' maxTime: a wall-clock limit on each variant's step "
          + "loop, e.g. PT10M.")
  Duration maxTime;

  @Option(names = "--evaluate-every", defaultValue = "0",
      description = "Score on the test file every this many steps, to stderr (default: never).")
  long evaluateEvery;

  @Option(names = "--embedding-updates",
      description = "Overrides the specs' optimizer.embeddingUpdates: dense or lazy.")
  String embeddingUpdates;

  @Option(names = "--json", description = "Print one JSON object instead of a table.")
  boolean json;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec commandSpec;

  @Override
  public Integer call() throws Exception {
    if (stepsPerTask != null && stepsPerTask <= 0 || evaluateEvery < 0
        || maxTime != null && (maxTime.isNegative() || maxTime.isZero())) {
      throw new CommandLine.ParameterException(commandSpec.commandLine(),
          "--steps-per-task and --max-time must be positive, --evaluate-every >= 0");
    }
    MachineInfo machine = MachineInfo.current();
    double loadBefore = loadAverage();
    List<ConllResult> results = new ArrayList<>();
    for (String variant : variants) {
      TrainingPlan plan = JobSpecCompiler.compile(spec(variant), baseDir);
      progress("%s: %d steps over %d task(s)%s", variant, plan.maxSteps(),
          plan.graph().tasks().size(), plan.maxTime() == null ? "" : ", at most " + plan.maxTime());
      ConllResult result = ConllTraining.train(variant, plan, evaluateEvery,
          checkpoint -> progress("  step %d, %.0f s: %s", checkpoint.step(),
              checkpoint.trainingTime().toMillis() / 1e3, ConllTable.figures(checkpoint.result())));
      progress("  done, %.0f s: %s", result.trainingTime().toMillis() / 1e3,
          ConllTable.figures(result));
      results.add(result);
    }
    double loadAfter = loadAverage();
    PrintWriter out = commandSpec.commandLine().getOut();
    if (json) {
      out.println(new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues()
          .create().toJson(toJson(machine, loadBefore, loadAfter, results)));
    } else {
      out.println("CoNLL-2000 (test.txt: 47,377 tokens), single-thread reference loop; "
          + machine.describe());
      out.printf("load average (1 min) %.1f before, %.1f after%n", loadBefore, loadAfter);
      ConllTable.print(out, results);
    }
    out.flush();
    return 0;
  }

  /** The variant's spec with this command's overrides. */
  JobSpec spec(String variant) throws IOException {
    Path file = examples.resolve(variant + ".json");
    if (!Files.isRegularFile(file)) {
      throw new CommandLine.ParameterException(commandSpec.commandLine(),
          "no job spec " + file + " for variant " + variant);
    }
    JobSpec.Builder spec = JobSpec.newBuilder();
    JsonFormat.parser().merge(Files.readString(file), spec);
    if (stepsPerTask != null) {
      spec.getStopBuilder().setMaxSteps(stepsPerTask * spec.getTasksCount());
    }
    if (embeddingUpdates != null) {
      spec.getOptimizerBuilder().setEmbeddingUpdates(embeddingUpdates);
    }
    if (maxTime != null) {
      spec.getStopBuilder().setMaxTime(com.google.protobuf.Duration.newBuilder()
          .setSeconds(maxTime.getSeconds()).setNanos(maxTime.getNano()));
    }
    return spec.build();
  }

  private JsonObject toJson(MachineInfo machine, double loadBefore, double loadAfter,
      List<ConllResult> results) {
    JsonObject json = new JsonObject();
    json.add("machine", machine.toJson());
    json.addProperty("loadAverageBefore", loadBefore);
    json.addProperty("loadAverageAfter", loadAfter);
    json.addProperty("loop", "sequential reference (SequentialTraining), one thread");
    JsonArray array = new JsonArray();
    results.forEach(result -> array.add(result.toJson()));
    json.add("variants", array);
    ConllTable.multiTaskGain(results).ifPresent(gain -> json.addProperty(
        "bestMultiTaskChunkF1MinusSingleTask", gain));
    return json;
  }

  private static double loadAverage() {
    return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
  }

  private static void progress(String format, Object... args) {
    System.err.printf(format + "%n", args);
  }
}
