package tandem.orchestrator.cluster;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Tandem main class in a child JVM with the test's class path and native-memory settings. Its
 * output goes to a log file and is scanned line by line, so a test can wait (bounded) for a line
 * instead of sleeping. {@link #close} kills it.
 */
final class ChildJvm implements AutoCloseable {

  private record Waiter(Pattern pattern, CompletableFuture<Matcher> found) {}

  private final Process process;
  private final List<Waiter> waiters = new CopyOnWriteArrayList<>();
  private final List<String> lines = new CopyOnWriteArrayList<>();

  private ChildJvm(Process process, Path log) {
    this.process = process;
    Thread reader = new Thread(() -> copy(log), "child-jvm-output");
    reader.setDaemon(true);
    reader.start();
  }

  static ChildJvm start(String mainClass, Path log, String... args) throws IOException {
    return start(List.of(), mainClass, log, args);
  }

  /** The same with {@code jvmOptions} (test hooks such as {@code -Dtandem.test...}). */
  static ChildJvm start(List<String> jvmOptions, String mainClass, Path log, String... args)
      throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx512m");
    command.addAll(jvmOptions);
    for (String option : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (option.startsWith("-Dorg.bytedeco.")) {
        command.add(option);
      }
    }
    // Faster failure detection than production's, so that a killed node is noticed quickly.
    command.add("-Dpekko.cluster.split-brain-resolver.stable-after=2s");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(mainClass);
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().put("OMP_NUM_THREADS", "1");
    return new ChildJvm(builder.start(), log);
  }

  /** Waits for a line matching {@code regex} (already printed or to come). */
  Matcher await(String regex, Duration timeout) throws Exception {
    Pattern pattern = Pattern.compile(regex);
    CompletableFuture<Matcher> found = new CompletableFuture<>();
    waiters.add(new Waiter(pattern, found));
    for (String line : lines) {
      Matcher matcher = pattern.matcher(line);
      if (matcher.find()) {
        found.complete(matcher);
      }
    }
    process.onExit().thenRun(() -> found.completeExceptionally(new IllegalStateException(
        "the child JVM exited with " + process.exitValue() + " before printing " + regex)));
    return found.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** SIGKILL: no shutdown hook, no goodbye to the cluster. */
  void kill() throws InterruptedException {
    process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws InterruptedException {
    kill();
  }

  private void copy(Path log) {
    try (BufferedReader in = new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        PrintWriter out = new PrintWriter(Files.newBufferedWriter(log), true)) {
      String line;
      while ((line = in.readLine()) != null) {
        out.println(line);
        lines.add(line);
        for (Waiter waiter : waiters) {
          Matcher matcher = waiter.pattern().matcher(line);
          if (!waiter.found().isDone() && matcher.find()) {
            waiter.found().complete(matcher);
          }
        }
      }
    } catch (IOException e) {
      // The child is gone; waiters fail on its exit.
    }
  }
}
