package tandem.orchestrator.job;

/**
 * Which step numbers' gradients have arrived, among the newest {@link #REMEMBERED} numbers: a
 * step re-run after its worker was lost follows its first run within the steps in flight, so
 * that window is enough to tell its second gradient. One bit per number in a ring (8 KiB a job),
 * where a tree set of boxed numbers took a few megabytes and a tree insertion per step. Plain
 * class, confined to the shared-parameter actor.
 */
final class ArrivedSteps {

  /** Step numbers remembered below the highest one seen (a power of two). */
  static final int REMEMBERED = 1 << 16;

  private final long[] bits = new long[REMEMBERED / Long.SIZE];
  /** The highest step number seen; 0 before any (steps count from 1). */
  private long highest;

  /**
   * Records {@code step}; returns whether it is the first arrival of that number. A number
   * older than the window counts as a first arrival, as nothing of it is remembered.
   */
  boolean firstArrival(long step) {
    if (step > highest) {
      // The numbers between the highest seen and this one take the bits of numbers a window
      // older: clear them (once per number, so a step at a time in the usual order).
      for (long s = Math.max(highest + 1, step - REMEMBERED + 1); s <= step; s++) {
        bits[word(s)] &= ~mask(s);
      }
      highest = step;
    } else if (step <= highest - REMEMBERED) {
      return true;
    }
    int word = word(step);
    long mask = mask(step);
    if ((bits[word] & mask) != 0) {
      return false;
    }
    bits[word] |= mask;
    return true;
  }

  private static int word(long step) {
    return (int) ((step & (REMEMBERED - 1)) >>> 6);
  }

  private static long mask(long step) {
    return 1L << (step & 63);
  }
}
