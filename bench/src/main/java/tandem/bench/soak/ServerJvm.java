package tandem.bench.soak;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Tandem server in a JVM of its own (the soak benchmark's), started with this JVM's class path
 * and native-memory settings, {@code OMP_NUM_THREADS=1} and no job directory. Reads its CPU time
 * and resident memory from the outside: {@link ProcessHandle} and {@code /proc/<pid>/status},
 * after a full GC asked for with {@code jcmd <pid> GC.run}. {@link #close} stops it. Not
 * thread-safe.
 */
final class ServerJvm implements AutoCloseable {

  private static final Duration START = Duration.ofMinutes(3);

  /** How long {@link #rssAfterGc} waits at most for the resident memory to stop falling. */
  private static final Duration RSS_SETTLE = Duration.ofSeconds(5);
  /** A fall of less than this in 100 ms counts as settled. */
  private static final long RSS_STEADY_BYTES = 1 << 20;

  private final Process process;
  private final int port;
  private final Path log;

  private ServerJvm(Process process, int port, Path log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  /**
   * Starts the server with {@code workers} local workers and the extra JVM options; returns once
   * it serves.
   */
  static ServerJvm start(int workers, String heap, List<String> jvmOptions, Path dir)
      throws IOException, InterruptedException {
    return start(workers, heap, jvmOptions, List.of(), null, dir);
  }

  /**
   * {@link #start(int, String, List, Path)} with more server arguments (e.g. {@code --data-root})
   * and a working directory (null: this JVM's).
   */
  static ServerJvm start(int workers, String heap, List<String> jvmOptions,
      List<String> serverArgs, Path workingDir, Path dir)
      throws IOException, InterruptedException {
    Path portFile = dir.resolve("server.port");
    Path log = dir.resolve("server.log");
    List<String> command = new ArrayList<>();
    command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx" + heap);
    // As the tandem launcher runs the server.
    command.add("-XX:MaxHeapFreeRatio=40");
    for (String option : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (option.startsWith("-Dorg.bytedeco.")) {
        command.add(option);
      }
    }
    command.addAll(jvmOptions);
    command.addAll(List.of("-cp", System.getProperty("java.class.path"),
        "tandem.orchestrator.TandemServerMain", "--host", "127.0.0.1", "--port", "0",
        "--workers", Integer.toString(workers), "--job-dir", "", "--port-file",
        portFile.toString()));
    command.addAll(serverArgs);
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    if (workingDir != null) {
      builder.directory(workingDir.toFile());
    }
    builder.environment().put("OMP_NUM_THREADS", "1");
    Process process = builder.start();
    long deadline = System.nanoTime() + START.toNanos();
    while (!Files.isRegularFile(portFile)) {
      if (!process.isAlive() || System.nanoTime() > deadline) {
        process.destroyForcibly();
        throw new IllegalStateException("the server did not start; its log: " + log);
      }
      Thread.sleep(100);
    }
    return new ServerJvm(process, Integer.parseInt(Files.readString(portFile).trim()), log);
  }

  int port() {
    return port;
  }

  long pid() {
    return process.pid();
  }

  Path log() {
    return log;
  }

  boolean alive() {
    return process.isAlive();
  }

  /** CPU time the server's process used so far, all threads, user and system. */
  Duration cpuTime() {
    return process.toHandle().info().totalCpuDuration().orElseThrow(
        () -> new IllegalStateException("no CPU time for process " + process.pid()));
  }

  /** The server's threads and their CPU time so far ({@link tandem.bench.ThreadCpu}). */
  tandem.bench.ThreadCpu.Snapshot threadCpu() throws IOException {
    return tandem.bench.ThreadCpu.snapshot(process.pid());
  }

  /**
   * Waits until the server's JIT compiler threads have used no CPU for 200 ms (10 s at most):
   * compilations queued by the previous run otherwise run during the next one, on the cores it
   * measures (a second of C2 in a 6-second soak run).
   */
  void awaitQuietJit() throws IOException, InterruptedException {
    tandem.bench.Settle.untilIdle(() -> compilerCpu().toMillis(), Duration.ofSeconds(10));
  }

  private Duration compilerCpu() throws IOException {
    return threadCpu().byGroup().entrySet().stream()
        .filter(group -> group.getKey().contains("CompilerThre"))
        .map(java.util.Map.Entry::getValue).reduce(Duration.ZERO, Duration::plus);
  }

  /**
   * Resident memory (VmRSS) in bytes after a full GC of the server ({@code jcmd GC.run}; if jcmd
   * fails, the figure is taken without it and {@code gc} in the result says so), once it stopped
   * falling: G1 gives the freed heap back to the system after the collection, on a thread of its
   * own, so a figure read at once was up to twice the settled one (1.2 GB against 0.6 GB after the
   * soak's warm-up rounds).
   */
  Rss rssAfterGc() throws IOException, InterruptedException {
    boolean collected = false;
    Path jcmd = Paths.get(System.getProperty("java.home"), "bin", "jcmd");
    if (Files.isExecutable(jcmd)) {
      Process gc = new ProcessBuilder(jcmd.toString(), Long.toString(process.pid()), "GC.run")
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      collected = gc.waitFor(60, TimeUnit.SECONDS) && gc.exitValue() == 0;
    }
    long deadline = System.nanoTime() + RSS_SETTLE.toNanos();
    long rss = rss();
    int steady = 0;
    while (steady < 3 && System.nanoTime() < deadline) {
      Thread.sleep(100);
      long now = rss();
      steady = now > rss - RSS_STEADY_BYTES ? steady + 1 : 0;
      rss = Math.min(rss, now);
    }
    return new Rss(rss, collected);
  }

  /** The server's VmRSS now, in bytes. */
  private long rss() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()),
        "status"))) {
      if (line.startsWith("VmRSS:")) {
        String[] parts = line.substring(6).trim().split("\\s+");
        return Long.parseLong(parts[0]) * 1024;
      }
    }
    throw new IllegalStateException("no VmRSS for process " + process.pid());
  }

  /** Resident bytes, and whether a full GC ran just before. */
  record Rss(long bytes, boolean gc) {}

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
  }
}
