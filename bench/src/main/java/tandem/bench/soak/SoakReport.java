package tandem.bench.soak;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.PrintWriter;
import java.util.Locale;

/** {@link SoakBench}'s report as a table for people. Stateless. */
final class SoakReport {

  private static final double MB = 1024 * 1024;

  private SoakReport() {}

  static void print(PrintWriter out, JsonObject report) {
    out.printf(Locale.ROOT, "soak: %d jobs of %d steps, %d subscribers (%d slow) in a process of "
            + "their own (%s priority, %s, %s connections), server keeps %d jobs%n",
        report.get("jobs").getAsInt(),
        report.get("stepsPerJob").getAsLong(), report.get("subscribers").getAsInt(),
        report.get("slowSubscribers").getAsInt(), report.get("subscriberPriority").getAsString(),
        report.get("stream").getAsString(), report.get("connections").getAsString(),
        report.get("retainedJobs").getAsInt());
    JsonObject machine = report.getAsJsonObject("machine");
    out.printf(Locale.ROOT, "machine: a kernel entry %.2f us, and %.2f us more to touch 1,024 "
            + "pages right after one (KernelEntryProbe)%n",
        machine.get("kernelEntryMicros").getAsDouble(),
        machine.get("refillAfterKernelEntryMicros").getAsDouble());
    out.printf(Locale.ROOT, "%-6s %10s %10s %7s %10s %10s %10s %11s %9s %9s%n", "round",
        "wall w/o", "wall with", "ratio", "cpu w/o", "cpu with", "subs cpu", "delivered",
        "us/event", "rss MB");
    for (JsonElement element : report.getAsJsonArray("rounds")) {
      JsonObject r = element.getAsJsonObject();
      out.printf(Locale.ROOT, "%-6d %9.2fs %9.2fs %7.3f %9.2fs %9.2fs %9.2fs %11d %9.1f %9.0f%n",
          r.get("round").getAsInt(), r.get("wallWithoutSeconds").getAsDouble(),
          r.get("wallWithSeconds").getAsDouble(), r.get("ratio").getAsDouble(),
          r.get("serverCpuWithoutSeconds").getAsDouble(),
          r.get("serverCpuWithSeconds").getAsDouble(),
          r.get("subscriberCpuSeconds").getAsDouble(), r.get("deliveredEvents").getAsLong(),
          r.get("serverCpuMicrosPerEvent").getAsDouble(), r.get("rssBytes").getAsLong() / MB);
    }
    for (JsonElement element : report.getAsJsonArray("rounds")) {
      JsonObject r = element.getAsJsonObject();
      out.printf(Locale.ROOT, "round %d: server CPU with subscribers beyond without, by thread "
          + "group (s): %s%n", r.get("round").getAsInt(), r.get("extraCpuSecondsByThreadGroup"));
    }
    out.printf(Locale.ROOT, "median wall time: %.2fs without subscribers, %.2fs with: ratio %.3f; "
            + "all rounds' wall time with against without %.3f; median of the rounds' ratios %.3f"
            + " (target <= 1.1)%n",
        report.get("medianWallWithoutSeconds").getAsDouble(),
        report.get("medianWallWithSeconds").getAsDouble(), report.get("wallRatio").getAsDouble(),
        report.get("totalWallRatio").getAsDouble(), report.get("medianRoundRatio").getAsDouble());
    JsonObject interval = report.getAsJsonObject("roundRatioInterval");
    out.printf(Locale.ROOT, "the median round ratio lies in [%.3f, %.3f] (%.0f%% sure, %d rounds):"
            + " target <= 1.1 %s%n",
        interval.get("low").getAsDouble(), interval.get("high").getAsDouble(),
        100 * interval.get("coverage").getAsDouble(), report.getAsJsonArray("rounds").size(),
        switch (report.get("wallRatioTarget").getAsString()) {
          case "met" -> "met";
          case "not met" -> "NOT met";
          default -> "undecided (the interval spans it: more rounds narrow it)";
        });
    out.printf(Locale.ROOT, "server CPU per delivered event: %.1f us (median over rounds)%n",
        report.get("medianServerCpuMicrosPerEvent").getAsDouble());
    out.printf(Locale.ROOT, "server RSS after full GC: idle %.0f MB, start (after warm-up) %.0f MB,"
            + " max %.0f MB, end %.0f MB: end/start %.3f (target <= 1.2)%s%n",
        report.get("rssIdleBytes").getAsLong() / MB, report.get("rssStartBytes").getAsLong() / MB,
        report.get("rssMaxBytes").getAsLong() / MB, report.get("rssEndBytes").getAsLong() / MB,
        report.get("rssEndToStart").getAsDouble(),
        report.get("rssAfterGc").getAsBoolean() ? "" : " (jcmd GC.run failed: without a GC)");
    out.println(report.get("ok").getAsBoolean() ? "checks: every job succeeded, every subscriber"
        + " saw consecutive sequence numbers to job_finished"
        : "FAILED: " + report.get("failures"));
  }
}
