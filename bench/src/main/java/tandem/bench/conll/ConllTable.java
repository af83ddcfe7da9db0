package tandem.bench.conll;

import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;

/** The human report of {@link ConllBench}: one row per variant, and the multi-task comparison. */
final class ConllTable {

  private ConllTable() {}

  static void print(PrintWriter out, List<ConllResult> results) {
    String format = "%-20s %9s %22s %9s %8s %10s %11s %9s%n";
    out.printf(format, "variant", "POS acc", "chunk F1 (P / R)", "greedy F1", "steps",
        "train time", "examples/s", "eval ms");
    for (ConllResult result : results) {
      out.printf(format, result.variant(),
          result.hasPos() ? String.format("%.2f%%", 100 * result.posAccuracy()) : "-",
          result.hasChunk() ? String.format("%.2f (%.2f / %.2f)", 100 * result.chunk().f1(),
              100 * result.chunk().precision(), 100 * result.chunk().recall()) : "-",
          result.hasChunk() ? String.format("%.2f", 100 * result.greedyChunk().f1()) : "-",
          result.steps(), String.format("%.0f s", result.trainingTime().toMillis() / 1e3),
          String.format("%.0f", result.examplesPerSecond()),
          String.format("%.0f", result.evaluationTime().toNanos() / 1e6));
    }
    multiTaskGain(results).ifPresent(gain -> out.printf("best multi-task chunk F1 %s single-task "
        + "by %.2f points%n", gain > 0 ? "beats" : "does not beat", 100 * Math.abs(gain)));
  }

  /** One line of figures, for progress. */
  static String figures(ConllResult result) {
    StringBuilder line = new StringBuilder();
    if (result.hasPos()) {
      line.append(String.format("POS %.2f%% ", 100 * result.posAccuracy()));
    }
    if (result.hasChunk()) {
      line.append(String.format("chunk F1 %.2f (P %.2f, R %.2f; greedy %.2f) ",
          100 * result.chunk().f1(), 100 * result.chunk().precision(),
          100 * result.chunk().recall(), 100 * result.greedyChunk().f1()));
    }
    return line.append(String.format("%.0f examples/s; evaluated in %.0f ms",
        result.examplesPerSecond(), result.evaluationTime().toNanos() / 1e6)).toString();
  }

  /**
   * Best chunk F1 of a variant with both outputs minus the best of a variant with chunking alone;
   * empty unless both kinds were trained.
   */
  static Optional<Double> multiTaskGain(List<ConllResult> results) {
    Optional<Double> multi = results.stream().filter(r -> r.hasChunk() && r.hasPos())
        .map(r -> r.chunk().f1()).max(Double::compare);
    Optional<Double> single = results.stream().filter(r -> r.hasChunk() && !r.hasPos())
        .map(r -> r.chunk().f1()).max(Double::compare);
    return multi.isPresent() && single.isPresent()
        ? Optional.of(multi.get() - single.get()) : Optional.empty();
  }
}
