package tandem.bench;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;

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
    long deadline = System.nanoTime() + 5_000_000_000L;
    long compiled = jit.getTotalCompilationTime();
    int idlePolls = 0;
    while (idlePolls < 4 && System.nanoTime() < deadline) {
      Thread.sleep(50);
      long now = jit.getTotalCompilationTime();
      idlePolls = now == compiled ? idlePolls + 1 : 0;
      compiled = now;
    }
  }
}
