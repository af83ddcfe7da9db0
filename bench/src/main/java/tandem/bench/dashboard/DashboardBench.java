package tandem.bench.dashboard;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.protobuf.util.JsonFormat;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tandem.api.v1.JobSpec;
import tandem.api.v1.StopCondition;
import tandem.bench.ActorRun;
import tandem.bench.EmbeddedTandem;
import tandem.bench.MachineInfo;
import tandem.bench.Settle;
import tandem.bench.Median;

/**
 * What following a job costs its training: the 200-task {@code many-heads} example trained with
 * nobody following it, with a page-like HTTP client following it (the job page's live
 * summaries and its overview polls, which carry the status: the server's share of a page open
 * on another machine), and with its dashboard page open in a headless Chromium at low priority
 * (the whole page, rendering included, on the training machine's own cores; the browser is
 * started and settled before the run, and the page opened when the job starts). Training
 * examples/s (steps only) per run, in rotating order so warm-up and drift weigh on each alike;
 * medians and their ratio to the runs with no follower. The target: within 3%.
 */
@Command(name = "dashboard", mixinStandardHelpOptions = true,
    description = "Training examples/s of many-heads with no follower, a page-like HTTP client, "
        + "and the dashboard open in a headless Chromium.")
public final class DashboardBench implements Callable<Integer> {

  /** Who follows the job while it trains. */
  public enum Follower { NONE, HTTP, BROWSER }

  @Option(names = "--steps", defaultValue = "60000",
      description = "Steps per run (default: ${DEFAULT-VALUE}, about 10 s with no follower on a "
          + "2-core machine: long enough that a page's loading is a small part of it).")
  long steps;

  @Option(names = "--repeats", defaultValue = "3", description = "Runs per follower (default: ${DEFAULT-VALUE}).")
  int repeats;

  @Option(names = "--workers", defaultValue = "2", description = "Local workers (default: ${DEFAULT-VALUE}).")
  int workers;

  @Option(names = "--followers", split = ",", defaultValue = "none,http,browser",
      description = "Followers to compare (default: ${DEFAULT-VALUE}); browser is skipped with a "
          + "message when --chromium is not executable.")
  List<Follower> followers;

  @Option(names = "--chromium", defaultValue = "/usr/bin/chromium",
      description = "The browser (default: ${DEFAULT-VALUE}).")
  Path chromium;

  @Option(names = "--browser-nice", defaultValue = "19",
      description = "nice level of the browser and of the page-like client's process (default: "
          + "${DEFAULT-VALUE}).")
  int browserNice;

  @Option(names = "--follower-priority", defaultValue = "nice",
      description = "How the browser and the page-like client run beside training: nice (at "
          + "--browser-nice) or idle (Linux's SCHED_IDLE through chrt: they run only on a core "
          + "training leaves idle, as a page on another machine costs the training machine "
          + "nothing but the server's share) (default: ${DEFAULT-VALUE}).")
  String followerPriority;

  @Option(names = "--example", defaultValue = "examples/many-heads.json",
      description = "The job (default: ${DEFAULT-VALUE}).")
  Path example;

  @Option(names = "--json", description = "Print one JSON object instead of a table.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    PrintStream out = System.out;
    JobSpec.Builder builder = JobSpec.newBuilder();
    JsonFormat.parser().merge(Files.readString(example), builder);
    JobSpec spec = builder.setStop(StopCondition.newBuilder().setMaxSteps(steps)).build();
    List<Follower> compared = new ArrayList<>(followers);
    if (compared.contains(Follower.BROWSER) && !Files.isExecutable(chromium)) {
      System.err.println("browser runs skipped: " + chromium + " is not executable "
          + "(apt-get install chromium)");
      compared.remove(Follower.BROWSER);
    }
    Map<Follower, List<Double>> rates = new LinkedHashMap<>();
    Map<Follower, List<Double>> later = new LinkedHashMap<>();
    Map<Follower, List<Double>> cpu = new LinkedHashMap<>();
    Map<Follower, List<Double>> followerCpu = new LinkedHashMap<>();
    compared.forEach(f -> followerCpu.put(f, new ArrayList<>()));
    compared.forEach(f -> rates.put(f, new ArrayList<>()));
    compared.forEach(f -> later.put(f, new ArrayList<>()));
    compared.forEach(f -> cpu.put(f, new ArrayList<>()));
    try (EmbeddedTandem tandem = EmbeddedTandem.start(workers, true);
        PageLikeClient client = compared.contains(Follower.HTTP) ? PageLikeClient.open(
            priority(), Files.createTempFile("tandem-bench-page-like", ".log")) : null) {
      String base = "http://127.0.0.1:" + tandem.httpPort();
      System.err.println("warm-up");
      // A shorter run with each follower, so that the JIT has compiled every follower's path
      // on the server before the measured runs.
      JobSpec warmup = spec.toBuilder().setStop(StopCondition.newBuilder()
          .setMaxSteps(Math.max(1, steps / 4))).build();
      for (Follower follower : compared) {
        Settle.gcAndQuietJit();
        run(tandem, warmup, follower, base, client);
      }
      for (int r = 0; r < repeats; r++) {
        for (int i = 0; i < compared.size(); i++) {
          Follower follower = compared.get((i + r) % compared.size());
          Settle.gcAndQuietJit();
          long cpuBefore = processCpuNanos();
          Map<String, Long> threadsBefore = cpuByThreadGroup();
          Followed followed = run(tandem, spec, follower, base, client);
          ActorRun run = followed.run();
          double followerMillisPerStep = followed.followerCpuSeconds() * 1e3 / steps;
          double cpuMillisPerStep = (processCpuNanos() - cpuBefore) / 1e6 / steps;
          Map<String, Long> threadsAfter = cpuByThreadGroup();
          StringBuilder groups = new StringBuilder();
          threadsAfter.entrySet().stream()
              .map(e -> Map.entry(e.getKey(), e.getValue() - threadsBefore.getOrDefault(e.getKey(), 0L)))
              .filter(e -> e.getValue() > 20_000_000L)
              .sorted((a, b) -> Long.compare(b.getValue(), a.getValue()))
              .forEach(e -> groups.append(String.format(Locale.ROOT, " %s %.2f", e.getKey(),
                  e.getValue() / 1e9)));
          System.err.println("  CPU seconds by thread group:" + groups);
          followerCpu.get(follower).add(followerMillisPerStep);
          rates.get(follower).add(run.trainingExamplesPerSecond());
          later.get(follower).add(run.laterExamplesPerSecond());
          cpu.get(follower).add(cpuMillisPerStep);
          System.err.printf(Locale.ROOT, "repeat %d/%d, %s: %.0f examples/s (second half %.0f), "
              + "%.3f ms CPU a step (the follower's process: %.3f)%n", r + 1, repeats,
              follower.name().toLowerCase(Locale.ROOT), run.trainingExamplesPerSecond(),
              run.laterExamplesPerSecond(), cpuMillisPerStep, followerMillisPerStep);
        }
      }
    }
    report(out, rates, later, cpu, followerCpu);
    return 0;
  }

  /** The command that starts a follower's process at its priority. */
  private List<String> priority() {
    if ("idle".equals(followerPriority) && Files.isExecutable(Path.of("/usr/bin/chrt"))) {
      return List.of("/usr/bin/chrt", "--idle", "0");
    }
    if (!"nice".equals(followerPriority)) {
      System.err.println("follower priority " + followerPriority + " not available; nice");
    }
    return Files.isExecutable(Path.of("/usr/bin/nice"))
        ? List.of("/usr/bin/nice", "-n", Integer.toString(browserNice)) : List.of();
  }

  /** CPU nanoseconds of this JVM's live threads, by name with digits dropped. */
  private static Map<String, Long> cpuByThreadGroup() {
    java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory
        .getThreadMXBean();
    Map<String, Long> groups = new java.util.TreeMap<>();
    for (java.lang.management.ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
      if (info != null) {
        long cpu = threads.getThreadCpuTime(info.getThreadId());
        if (cpu > 0) {
          groups.merge(info.getThreadName().replaceAll("[0-9]+", "N"), cpu, Long::sum);
        }
      }
    }
    return groups;
  }

  /** CPU time of this process (server and workers; not the page-like client nor the browser). */
  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean)
        java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  /** A run's figures and the CPU seconds its follower's processes took. */
  private record Followed(ActorRun run, double followerCpuSeconds) {}

  private Followed run(EmbeddedTandem tandem, JobSpec spec, Follower follower, String base,
      PageLikeClient client) throws Exception {
    List<AutoCloseable> opened = new ArrayList<>();
    java.time.Duration[] browserBefore = {java.time.Duration.ZERO};
    try {
      HeadlessBrowser browser = null;
      PageMetrics page = null;
      if (follower == Follower.BROWSER) {
        // Started and settled before the job: what is measured is the page, not the browser's
        // start-up (several CPU seconds, which a user's open browser has behind it).
        browser = HeadlessBrowser.open(chromium, priority(), "about:blank");
        opened.add(browser);
        double settled = browser.awaitQuiet(30);
        page = browser.attachMetrics();
        if (page == null) {
          throw new IllegalStateException("cannot open the job page: no DevTools session");
        }
        opened.add(page);
        System.err.printf(Locale.ROOT, "browser settled after %.1f s%n", settled);
      }
      HeadlessBrowser openBrowser = browser;
      PageMetrics openPage = page;
      ActorRun run = tandem.run(spec, EmbeddedTandem.EventReading.AFTER, jobId -> {
        try {
          switch (follower) {
            case HTTP -> client.follow(base + "/api/jobs/" + jobId);
            case BROWSER -> {
              browserBefore[0] = openBrowser.cpuTime();
              openPage.navigate(base + "/job?id=" + jobId);
            }
            case NONE -> { }
          }
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while opening the page", e);
        }
      });
      double followerSeconds = 0;
      if (follower == Follower.HTTP) {
        client.awaitEnd();
        followerSeconds += client.cpuTime().toNanos() / 1e9;
      }
      for (AutoCloseable closeable : opened) {
        if (closeable instanceof PageMetrics metrics) {
          System.err.println("the page's main thread over the run (s): " + metrics.read());
        }
        java.time.Duration used = closeable instanceof HeadlessBrowser open
            ? open.cpuTime().minus(browserBefore[0])
            : java.time.Duration.ZERO;
        followerSeconds += used.toNanos() / 1e9;
      }
      return new Followed(run, followerSeconds);
    } finally {
      for (AutoCloseable closeable : opened) {
        closeable.close();
      }
    }
  }

  private void report(PrintStream out, Map<Follower, List<Double>> rates,
      Map<Follower, List<Double>> later, Map<Follower, List<Double>> cpu,
      Map<Follower, List<Double>> followerCpu) {
    double none = rates.containsKey(Follower.NONE) ? median(rates.get(Follower.NONE)) : 0;
    double laterNone = later.containsKey(Follower.NONE) ? median(later.get(Follower.NONE)) : 0;
    if (json) {
      JsonObject root = new JsonObject();
      root.add("machine", MachineInfo.current().toJson());
      root.addProperty("steps", steps);
      root.addProperty("repeats", repeats);
      rates.forEach((follower, values) -> {
        JsonObject entry = new JsonObject();
        com.google.gson.JsonArray runs = new com.google.gson.JsonArray();
        values.forEach(runs::add);
        entry.add("examplesPerSecond", runs);
        entry.addProperty("median", median(values));
        if (none > 0) {
          entry.addProperty("ratioToNone", median(values) / none);
          entry.addProperty("pairedRatioToNone", pairedRatio(values, rates.get(Follower.NONE)));
        }
        com.google.gson.JsonArray secondHalf = new com.google.gson.JsonArray();
        later.get(follower).forEach(secondHalf::add);
        entry.add("secondHalfExamplesPerSecond", secondHalf);
        entry.addProperty("secondHalfMedian", median(later.get(follower)));
        if (laterNone > 0) {
          entry.addProperty("secondHalfRatioToNone", median(later.get(follower)) / laterNone);
          entry.addProperty("secondHalfPairedRatioToNone",
              pairedRatio(later.get(follower), later.get(Follower.NONE)));
        }
        entry.addProperty("cpuMillisPerStep", median(cpu.get(follower)));
        entry.addProperty("followerCpuMillisPerStep", median(followerCpu.get(follower)));
        root.add(follower.name().toLowerCase(Locale.ROOT), entry);
      });
      out.println(new GsonBuilder().setPrettyPrinting().create().toJson(root));
      return;
    }
    out.println(MachineInfo.current().describe());
    out.printf(Locale.ROOT, "many-heads, %d steps a run, %d runs per follower, training examples/s "
        + "(steps only)%n", steps, repeats);
    out.printf(Locale.ROOT, "over the whole run and over its second half (once the page loaded), and "
        + "the server process's CPU per step%n(server and workers; not the page-like client's "
        + "process nor the browser)%n");
    out.printf(Locale.ROOT, "'paired': the median over repetitions of each repetition's own "
        + "ratio to its run with no follower (runs next to each other, so drift cancels)%n");
    out.printf(Locale.ROOT, "%-8s %10s %9s %9s %12s %9s %9s %12s %12s   %s%n", "follower",
        "median", "vs none", "paired", "2nd half", "vs none", "paired", "CPU ms/step",
        "follower's", "runs (whole / second half)");
    rates.forEach((follower, values) -> out.printf(Locale.ROOT,
        "%-8s %10.0f %+8.1f%% %+8.1f%% %12.0f %+8.1f%% %+8.1f%% %12.3f %12.3f   %s / %s%n",
        follower.name().toLowerCase(Locale.ROOT), median(values),
        none > 0 ? 100 * (median(values) / none - 1) : Double.NaN,
        none > 0 ? 100 * (pairedRatio(values, rates.get(Follower.NONE)) - 1) : Double.NaN,
        median(later.get(follower)),
        laterNone > 0 ? 100 * (median(later.get(follower)) / laterNone - 1) : Double.NaN,
        laterNone > 0
            ? 100 * (pairedRatio(later.get(follower), later.get(Follower.NONE)) - 1) : Double.NaN,
        median(cpu.get(follower)), median(followerCpu.get(follower)),
        values.stream().map(v -> String.format(Locale.ROOT, "%.0f", v)).toList(),
        later.get(follower).stream().map(v -> String.format(Locale.ROOT, "%.0f", v)).toList()));
  }

  /** The median over repetitions of {@code values[r] / none[r]}. */
  private static double pairedRatio(List<Double> values, List<Double> none) {
    double[] ratios = new double[Math.min(values.size(), none.size())];
    for (int r = 0; r < ratios.length; r++) {
      ratios[r] = values.get(r) / none.get(r);
    }
    return Median.of(ratios);
  }

  private static double median(List<Double> values) {
    return Median.of(values.stream().mapToDouble(Double::doubleValue).toArray());
  }
}
