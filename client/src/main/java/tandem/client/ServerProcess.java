package tandem.client;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A Tandem server running in a child JVM, for {@code tandem server} and {@code tandem demo}. The
 * child gets this JVM's class path and the options that size and place native memory, so it
 * computes under the same limits the launcher chose. It is destroyed when this JVM exits, so a
 * Ctrl-C of the command line does not leave a server behind.
 *
 * <p>Thread-safe for {@link #close} from a shutdown hook while another thread waits on it.
 */
final class ServerProcess implements AutoCloseable {

  static final String MAIN_CLASS = "tandem.orchestrator.TandemServerMain";

  /** How long {@link #close} waits for a graceful exit before killing the child. */
  private static final Duration GRACE = Duration.ofSeconds(10);
  /** Between looks at the port file; the wait is on the child's exit, so an early death ends it at once. */
  private static final Duration PORT_POLL = Duration.ofMillis(100);

  private final Process process;
  private final Thread destroyOnExit;

  private ServerProcess(Process process) {
    this.process = process;
    this.destroyOnExit = new Thread(this::destroy, "tandem-server-reaper");
    Runtime.getRuntime().addShutdownHook(destroyOnExit);
  }

  /** Arguments of the server main: {@code --port P [--workers N] [--port-file F]}. */
  static List<String> serverArguments(int port, Integer workers, Path portFile) {
    List<String> args = new ArrayList<>(List.of("--port", Integer.toString(port)));
    if (workers != null) {
      args.addAll(List.of("--workers", workers.toString()));
    }
    if (portFile != null) {
      args.addAll(List.of("--port-file", portFile.toString()));
    }
    return args;
  }

  /** The child's command line: java, inherited JVM options, class path, main class, arguments. */
  static List<String> command(List<String> serverArguments) {
    return command(MAIN_CLASS, serverArguments);
  }

  /** The command line of any Tandem main (the server's, a worker node's) in a child JVM. */
  static List<String> command(String mainClass, List<String> serverArguments) {
    List<String> command = new ArrayList<>();
    command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    for (String option : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (inherited(option)) {
        command.add(option);
      }
    }
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(mainClass);
    command.addAll(serverArguments);
    return command;
  }

  /** Heap and native-memory settings; debugger agents and the like stay with the parent. */
  static boolean inherited(String jvmOption) {
    return jvmOption.startsWith("-Xmx") || jvmOption.startsWith("-Xms")
        || jvmOption.startsWith("-XX:MaxDirectMemorySize") || jvmOption.startsWith("-Dorg.bytedeco.");
  }

  /** Starts the child; with {@code log} null it shares this process's stdin/stdout/stderr. */
  static ServerProcess start(List<String> serverArguments, Path log) throws IOException {
    return launch(command(serverArguments), log);
  }

  /** Starts any command as the child; tests use it to stand in for the server. */
  static ServerProcess launch(List<String> command, Path log) throws IOException {
    ProcessBuilder builder = new ProcessBuilder(command);
    // DESIGN.md: ND4J runs one thread per op; parallelism comes from workers.
    builder.environment().putIfAbsent("OMP_NUM_THREADS", "1");
    if (log == null) {
      builder.inheritIO();
    } else {
      builder.redirectErrorStream(true).redirectOutput(log.toFile());
    }
    return new ServerProcess(builder.start());
  }

  /** Waits for the child to exit and returns its exit code. */
  int waitFor() throws InterruptedException {
    return process.waitFor();
  }

  /**
   * Waits until the server writes its port to {@code portFile}, as it does once it is serving.
   * Fails if the child exits first or {@code timeout} passes.
   */
  int awaitPort(Path portFile, Duration timeout) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Integer port = readPort(portFile);
      if (port != null) {
        return port;
      }
      if (System.nanoTime() - deadline > 0) {
        throw new IOException("the server did not start serving within " + timeout.toSeconds() + " s");
      }
      try {
        int code = process.onExit().get(PORT_POLL.toNanos(), TimeUnit.NANOSECONDS).exitValue();
        throw new IOException("the server exited with code " + code + " before it was serving");
      } catch (TimeoutException stillRunning) {
        // Look at the file again.
      } catch (ExecutionException e) {
        throw new IOException("cannot follow the server process", e.getCause());
      }
    }
  }

  /** The port once a whole line was written; null while the file is missing or half-written. */
  private static Integer readPort(Path portFile) throws IOException {
    String text;
    try {
      text = Files.readString(portFile, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return null;
    }
    if (!text.endsWith("\n")) {
      return null;
    }
    try {
      return Integer.parseInt(text.trim());
    } catch (NumberFormatException e) {
      throw new IOException("the server's port file " + portFile + " holds '" + text.trim() + "', not a port");
    }
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** Asks the server to stop (SIGTERM), waits a grace period, then kills it. */
  @Override
  public void close() {
    destroy();
    try {
      Runtime.getRuntime().removeShutdownHook(destroyOnExit);
    } catch (IllegalStateException shuttingDown) {
      // The hook is running or about to; it does the same thing.
    }
  }

  private void destroy() {
    process.destroy();
    try {
      if (!process.waitFor(GRACE.toNanos(), TimeUnit.NANOSECONDS)) {
        process.destroyForcibly().waitFor(GRACE.toNanos(), TimeUnit.NANOSECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
