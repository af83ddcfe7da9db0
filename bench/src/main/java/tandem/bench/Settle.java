package tandem.bench;

import java.io.IOException;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;

/**
 * Before a measured run in this JVM: a full GC, then a wait until the JIT compilers have been
 * idle for 200 ms (5 s at most). Compilations queued by the previous run (reading its events,
 * another path's code) otherwise ran on the cores the next run measures: in the async
 * benchmark, a tenth of a core during two-worker runs, and the one-worker figure rose 60% from
 * the first repetition to the last.
 */
public final class Settle {

  private Settle() {}

  /** A full GC, then until the JIT has been idle for 200 ms (5 s at most). */
  public static void gcAndQuietJit() throws InterruptedException {
    System.gc();
    CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
    try {
      untilIdle(jit::getTotalCompilationTime, Duration.ofSeconds(5));
    } catch (IOException e) {
      throw new AssertionError("reading the JIT's compile time does not do I/O", e);
    }
  }

  /** A count that only grows, e.g. CPU time. */
  @FunctionalInterface
  public interface Counter {
    long read() throws IOException;
  }

  /**
   * Polls {@code work} every 50 ms until it has not grown for 200 ms, or {@code atMost} passed.
   */
  public static void untilIdle(Counter work, Duration atMost)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + atMost.toNanos();
    long done = work.read();
    int idlePolls = 0;
    while (idlePolls < 4 && System.nanoTime() < deadline) {
      Thread.sleep(50);
      long now = work.read();
      idlePolls = now == done ? idlePolls + 1 : 0;
      done = now;
    }
  }
}
