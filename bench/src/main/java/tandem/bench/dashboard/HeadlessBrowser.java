package tandem.bench.dashboard;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A headless Chromium until closed, started under {@code nice} or SCHED_IDLE so that it takes the cores
 * training leaves idle (a browser on the training machine itself; a user's browser usually runs
 * elsewhere). The bench starts it on {@code about:blank} before a run, waits for its start-up
 * work to end ({@link #awaitQuiet}: several CPU seconds, which a user's browser has behind it)
 * and opens the job's page when the job starts ({@link PageMetrics#navigate}).
 */
final class HeadlessBrowser implements AutoCloseable {

  private final Process process;
  private final Path profile;

  private HeadlessBrowser(Process process, Path profile) {
    this.process = process;
    this.profile = profile;
  }

  /** Starts the browser on {@code url} behind {@code priority} (e.g. {@code nice -n 19}). */
  static HeadlessBrowser open(Path chromium, List<String> priority, String url)
      throws IOException {
    Path profile = Files.createTempDirectory("tandem-bench-chromium");
    // --remote-debugging-port keeps a headless browser open on its page instead of exiting.
    List<String> command = new java.util.ArrayList<>(priority);
    command.addAll(List.of(chromium.toString(), "--headless=new", "--no-sandbox", "--disable-gpu",
        "--disable-dev-shm-usage", "--window-size=1400,1100", "--remote-debugging-port=0",
        "--user-data-dir=" + profile, url));
    Process process = new ProcessBuilder(command)
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    return new HeadlessBrowser(process, profile);
  }

  /**
   * Waits until the browser's processes use under 5% of a core (half a second at a time), at
   * most {@code maxSeconds}; returns the seconds waited.
   */
  double awaitQuiet(int maxSeconds) throws InterruptedException {
    long start = System.nanoTime();
    long deadline = start + TimeUnit.SECONDS.toNanos(maxSeconds);
    java.time.Duration before = cpuTime();
    while (System.nanoTime() < deadline) {
      Thread.sleep(500);
      java.time.Duration now = cpuTime();
      if (now.minus(before).toMillis() < 25) {
        break;
      }
      before = now;
    }
    return (System.nanoTime() - start) / 1e9;
  }

  /** A DevTools session on the page (null, with the reason on stderr, if it cannot attach). */
  PageMetrics attachMetrics() throws InterruptedException {
    return PageMetrics.attach(profile, 20);
  }

  /** CPU time the browser's processes that are still running used so far. */
  java.time.Duration cpuTime() {
    return java.util.stream.Stream.concat(java.util.stream.Stream.of(process.toHandle()),
            process.descendants())
        .map(p -> p.info().totalCpuDuration().orElse(java.time.Duration.ZERO))
        .reduce(java.time.Duration.ZERO, java.time.Duration::plus);
  }

  @Override
  public void close() throws IOException, InterruptedException {
    process.descendants().forEach(ProcessHandle::destroy);
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    try (var files = Files.walk(profile)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
