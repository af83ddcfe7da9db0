package tandem.bench;

import java.util.Locale;

/**
 * What entering the kernel costs a thread on this machine: one system call ({@code sched_yield},
 * through {@link Thread#yield()} with nothing else to run), and how much longer the thread then
 * takes to touch its working set again (one cache line in each of 1,024 pages, 4 MB) than
 * without the call in between. Where the kernel flushes the thread's TLB on every entry, as a
 * paravirtualised guest with page-table isolation and no PCID does, the second figure is the
 * price every wake-up, interrupt and context switch adds to whatever the thread computes next,
 * beyond the CPU the other work itself takes.
 *
 * <p>On the project's 2-core machine (a PVM guest, {@code pti=on}, no {@code pcid} flag): a
 * call 1.4-1.8 µs, against about 0.1 µs on bare metal, and touching the 1,024 pages from 0 to
 * 1.9 µs slower after one, differing from run to run. That is part of why a process that wakes
 * often beside training (event subscribers, a browser) costs training more than its own CPU
 * time: each of its wake-ups on a core interrupts the worker there.
 */
public final class KernelEntryProbe {

  /** The figures, in microseconds. */
  public record Cost(double callMicros, double touchMicros, double touchAfterCallMicros) {

    /** How much longer touching the working set takes right after a kernel entry. */
    public double refillMicros() {
      return touchAfterCallMicros - touchMicros;
    }

    /** One line for a report. */
    public String describe() {
      return String.format(Locale.ROOT, "a kernel entry (sched_yield) %.2f us; touching 1,024 "
          + "pages %.2f us, %.2f us right after one (%+.2f us)", callMicros,
          touchMicros, touchAfterCallMicros, refillMicros());
    }
  }

  private static final int PAGES = 1024;
  private static final int FLOATS_PER_PAGE = 1024;
  private static final int FLOATS_PER_LINE = 16;
  private static final int ROUNDS = 20_000;

  private static volatile float sink;

  private KernelEntryProbe() {}

  /** Measures on the calling thread (about a second); the lower of two tries of each figure. */
  public static Cost measure() {
    float[] pages = new float[PAGES * FLOATS_PER_PAGE];
    for (int i = 0; i < pages.length; i += FLOATS_PER_PAGE) {
      pages[i] = 1;
    }
    double call = Double.MAX_VALUE;
    double touch = Double.MAX_VALUE;
    double after = Double.MAX_VALUE;
    for (int attempt = 0; attempt < 3; attempt++) {
      // The first attempt warms up (compiles the loops) and is not counted.
      double c = callMicros();
      double t = touchMicros(pages, false);
      double a = touchMicros(pages, true);
      if (attempt > 0) {
        call = Math.min(call, c);
        touch = Math.min(touch, t);
        after = Math.min(after, a);
      }
    }
    return new Cost(call, touch, after);
  }

  private static double callMicros() {
    long start = System.nanoTime();
    for (int r = 0; r < ROUNDS; r++) {
      Thread.yield();
    }
    return (System.nanoTime() - start) / 1e3 / ROUNDS;
  }

  /** Time per pass over the pages, each pass right after a kernel entry or not. */
  private static double touchMicros(float[] pages, boolean afterCall) {
    long total = 0;
    float sum = 0;
    for (int r = 0; r < ROUNDS; r++) {
      if (afterCall) {
        Thread.yield();
      }
      // A different line of each page every pass, so that the caches do not hide the walk.
      int line = (r % (FLOATS_PER_PAGE / FLOATS_PER_LINE)) * FLOATS_PER_LINE;
      long start = System.nanoTime();
      for (int i = line; i < pages.length; i += FLOATS_PER_PAGE) {
        sum += pages[i];
      }
      total += System.nanoTime() - start;
    }
    sink = sum;
    return total / 1e3 / ROUNDS;
  }

  /** Prints the figures for this machine. */
  public static void main(String[] args) {
    System.out.println(measure().describe());
  }
}
