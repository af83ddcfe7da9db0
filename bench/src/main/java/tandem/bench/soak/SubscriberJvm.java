package tandem.bench.soak;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@link SoakSubscribers} in a JVM of its own at the lowest CPU priority ({@code nice -n 19}
 * where {@code nice} exists), so that the subscribers' own work yields to the server's. Told
 * which jobs to follow per round over its stdin; answers on its stdout. Not thread-safe.
 */
final class SubscriberJvm implements AutoCloseable {

  /** What one round's subscribers saw. */
  record Outcome(long delivered, int failures, String firstFailure) {}

  private final Process process;
  private final PrintWriter commands;
  private final BufferedReader answers;

  private SubscriberJvm(Process process) {
    this.process = process;
    this.commands = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
    this.answers = new BufferedReader(
        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
  }

  static SubscriberJvm start(int port, int subscribers, int slow, long slowDelayMicros,
      SoakSubscribers.Stream stream, boolean perRoundConnections, boolean idleClass,
      List<String> jvmOptions, Path log)
      throws IOException {
    List<String> command = new ArrayList<>();
    if (idleClass && Files.isExecutable(Path.of("/usr/bin/chrt"))) {
      // SCHED_IDLE: the subscribers run only on a core nothing else wants.
      command.addAll(List.of("/usr/bin/chrt", "--idle", "0"));
    } else if (Files.isExecutable(Path.of("/usr/bin/nice"))) {
      command.addAll(List.of("/usr/bin/nice", "-n", "19"));
    }
    command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx512m");
    command.addAll(jvmOptions);
    for (String option : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (option.startsWith("-Dorg.bytedeco.")) {
        command.add(option);
      }
    }
    command.addAll(List.of("-cp", System.getProperty("java.class.path"),
        SoakSubscribers.class.getName(), Integer.toString(port), Integer.toString(subscribers),
        Integer.toString(slow), Long.toString(slowDelayMicros), stream.name(),
        perRoundConnections ? "PER_ROUND" : "KEPT"));
    Process process = new ProcessBuilder(command).redirectError(log.toFile()).start();
    SubscriberJvm jvm = new SubscriberJvm(process);
    // The JVM's own messages (e.g. a flight recording's start) may come before "ready".
    String ready = jvm.answers.readLine();
    while (ready != null && !ready.equals("ready") && ready.startsWith("[")) {
      ready = jvm.answers.readLine();
    }
    if (!"ready".equals(ready)) {
      process.destroyForcibly();
      throw new IllegalStateException("the subscriber process did not start (" + ready
          + "); its log: " + log);
    }
    return jvm;
  }

  /** CPU time the subscriber process used so far. */
  java.time.Duration cpuTime() {
    return process.toHandle().info().totalCpuDuration().orElse(java.time.Duration.ZERO);
  }

  /** Starts following {@code jobs} as round {@code round}; {@link #awaitRound} gives the outcome. */
  void follow(int round, List<String> jobs) {
    commands.println("follow " + round + " " + String.join(",", jobs));
  }

  /** Blocks until the round's subscribers all ended. */
  Outcome awaitRound(int round) throws IOException {
    String line = answers.readLine();
    if (line == null || !line.startsWith("done " + round + " ")) {
      throw new IllegalStateException("the subscriber process answered " + line);
    }
    String[] parts = line.split(" ", 5);
    return new Outcome(Long.parseLong(parts[2]), Integer.parseInt(parts[3]),
        parts.length > 4 ? parts[4] : "");
  }

  @Override
  public void close() throws InterruptedException {
    commands.println("quit");
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
  }
}
