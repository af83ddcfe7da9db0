package tandem.bench.async;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.PrintStream;
import java.util.List;
import tandem.bench.ActorRun;
import tandem.bench.LossTrace;
import tandem.bench.Median;

/**
 * What {@link AsyncScalingBench} reports: each repetition's runs and ratios, and one setting's
 * medians over its repetitions, as a table or as JSON. Stateless.
 */
final class AsyncReport {

  private AsyncReport() {}

  /** One repetition: its three actor-path runs, the loops beside them, and the sharing cost. */
  record Repetition(ActorRun oneWorker, ActorRun twoWorkers, ActorRun sync,
      double bareOneThread, double bareTwoThreads, double sharedTrunkTwoThreads,
      double versionedTrunkTwoThreads, double sharingCost) {
    double speedup() {
      return twoWorkers.examplesPerSecond() / oneWorker.examplesPerSecond();
    }

    double bareSpeedup() {
      return bareTwoThreads / bareOneThread;
    }

    /** The speedup as a fraction of the machine's ceiling measured beside it. */
    double ofCeiling() {
      return speedup() / bareSpeedup();
    }

    /** Two loops sharing the trunk ({@link SharedTrunkLoops}) over one bare loop. */
    double sharedTrunkSpeedup() {
      return sharedTrunkTwoThreads / bareOneThread;
    }

    /** The speedup as a fraction of what two loops sharing the trunk reach. */
    double ofSharedTrunk() {
      return speedup() / sharedTrunkSpeedup();
    }

    /**
     * Two loops sharing the trunk in versions ({@link AsyncScalingBench#SHARING_VERSIONS}) over
     * one bare loop.
     */
    double versionedTrunkSpeedup() {
      return versionedTrunkTwoThreads / bareOneThread;
    }

    /** The speedup as a fraction of what two loops sharing the trunk in versions reach. */
    double ofVersionedTrunk() {
      return speedup() / versionedTrunkSpeedup();
    }
  }

  /** One setting's medians over the repetitions. */
  record Summary(double one, double two, double sync, double bareSpeedup,
      double ofCeiling, double sharing, double sharedTrunkSpeedup, double ofSharedTrunk,
      double versionedTrunkSpeedup, double ofVersionedTrunk, double asyncLoss, double syncLoss,
      long steps) {

    double lossGap() {
      return (asyncLoss - syncLoss) / syncLoss;
    }

    JsonObject toJson() {
      JsonObject result = new JsonObject();
      result.addProperty("oneWorkerExamplesPerSecond", one);
      result.addProperty("twoWorkersExamplesPerSecond", two);
      result.addProperty("speedup", two / one);
      result.addProperty("bareTwoThreadSpeedup", bareSpeedup);
      result.addProperty("ofCeilingMedian", ofCeiling);
      result.addProperty("crossCoreSharingCost", sharing);
      result.addProperty("sharedTrunkTwoThreadSpeedup", sharedTrunkSpeedup);
      result.addProperty("ofSharedTrunkMedian", ofSharedTrunk);
      result.addProperty("versionedTrunkTwoThreadSpeedup", versionedTrunkSpeedup);
      result.addProperty("ofVersionedTrunkMedian", ofVersionedTrunk);
      result.addProperty("asyncFinalLoss", asyncLoss);
      result.addProperty("syncFinalLoss", syncLoss);
      result.addProperty("finalLossRelativeGap", lossGap());
      return result;
    }

    void print(PrintStream out, int together, String heading) {
      if (heading != null) {
        out.printf("%n%s:%n", heading);
      }
      out.printf("%-28s %12s%n", "run (median)", "examples/s");
      out.printf("%-28s %12.0f%n", "async, 1 worker", one);
      out.printf("%-28s %12.0f%n", "async, 2 workers", two);
      out.printf("%-28s %12.0f%n", "sync, 1 worker", sync);
      out.printf("speedup 2 workers / 1 worker: %.2f%n", two / one);
      out.printf("ceiling on this machine: two bare loops on two threads reach x%.2f of one (the"
          + " same steps, no actors, no messages)%n", bareSpeedup);
      out.printf("speedup / ceiling: %.2f of medians; median of the repetitions' own %.2f"
          + " (target >= 0.95)%n", two / one / bareSpeedup, ofCeiling);
      out.printf("two loops sharing the trunk and its optimizer state (no actors, no messages;"
          + " %d updates together): x%.2f of one bare loop, %.2f of the ceiling; the actor path"
          + " reaches %.2f of them (median of the repetitions' own)%n", together,
          sharedTrunkSpeedup, sharedTrunkSpeedup / bareSpeedup, ofSharedTrunk);
      out.printf("the same loops writing each update as a new version, into %d arrays per module"
          + " in turn, as a job's master copy does: x%.2f of one bare loop, %.2f of the ceiling;"
          + " the actor path reaches %.2f of them%n", AsyncScalingBench.SHARING_VERSIONS,
          versionedTrunkSpeedup, versionedTrunkSpeedup / bareSpeedup, ofVersionedTrunk);
      out.printf("state shared across the cores: an update taken in turns by two threads costs"
          + " x%.2f of one on a state of its own (median; 1.0 when the two CPUs share their"
          + " caches, see CrossCoreProbe)%n", sharing);
      out.printf("final loss after %d steps: async (2 workers) %.4f, sync %.4f, gap %+.1f%%"
          + " (target within 5%%)%n", steps, asyncLoss, syncLoss, 100 * lossGap());
    }

    /** The medians of {@code repetitions} of {@code steps} steps each. */
      static Summary of(List<Repetition> repetitions, long steps) {
      return new Summary(
          median(repetitions, r -> r.oneWorker().examplesPerSecond()),
          median(repetitions, r -> r.twoWorkers().examplesPerSecond()),
          median(repetitions, r -> r.sync().examplesPerSecond()),
          median(repetitions, Repetition::bareSpeedup),
          median(repetitions, Repetition::ofCeiling),
          median(repetitions, Repetition::sharingCost),
          median(repetitions, Repetition::sharedTrunkSpeedup),
          median(repetitions, Repetition::ofSharedTrunk),
          median(repetitions, Repetition::versionedTrunkSpeedup),
          median(repetitions, Repetition::ofVersionedTrunk),
          median(repetitions, r -> finalLoss(r.twoWorkers().losses())),
          median(repetitions, r -> finalLoss(r.sync().losses())), steps);
    }

    private static double median(List<Repetition> repetitions,
        java.util.function.ToDoubleFunction<Repetition> figure) {
      return Median.of(repetitions.stream().mapToDouble(figure).toArray());
    }
  }

  /** Each repetition's figures, for the JSON report. */
  static JsonArray repetitionsJson(List<Repetition> repetitions) {
    JsonArray runs = new JsonArray();
    for (Repetition r : repetitions) {
      JsonObject run = new JsonObject();
      run.addProperty("oneWorker", r.oneWorker().examplesPerSecond());
      run.addProperty("twoWorkers", r.twoWorkers().examplesPerSecond());
      run.addProperty("sync", r.sync().examplesPerSecond());
      run.addProperty("ofCeiling", r.ofCeiling());
      run.addProperty("crossCoreSharingCost", r.sharingCost());
      run.addProperty("sharedTrunkTwoThreadSpeedup", r.sharedTrunkSpeedup());
      run.addProperty("versionedTrunkTwoThreadSpeedup", r.versionedTrunkSpeedup());
      run.addProperty("asyncFinalLoss", finalLoss(r.twoWorkers().losses()));
      run.addProperty("syncFinalLoss", finalLoss(r.sync().losses()));
      runs.add(run);
    }
    return runs;
  }

  /** Mean step loss over the last tenth of the steps, per task, averaged over tasks. */
  static double finalLoss(LossTrace trace) {
    int n = trace.losses().length;
    int from = n - Math.max(1, n / 10);
    java.util.Map<String, double[]> sums = new java.util.LinkedHashMap<>();
    for (int i = from; i < n; i++) {
      double[] sum = sums.computeIfAbsent(trace.tasks().get(i), t -> new double[2]);
      sum[0] += trace.losses()[i];
      sum[1]++;
    }
    return sums.values().stream().mapToDouble(s -> s[0] / s[1]).average().orElse(Double.NaN);
  }
}
