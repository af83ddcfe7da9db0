package tandem.model.train;

import java.nio.charset.StandardCharsets;

/**
 * Derives independent, reproducible seeds from a job's seed for each of its random streams
 * (a module's initial parameters, a task's batch order, the schedule), so that adding a task does
 * not shift the draws of another. Stateless.
 */
public final class Seeds {

  private Seeds() {}

  /** The seed of the stream named {@code purpose} (e.g. {@code "init/trunk"}) in job {@code seed}. */
  public static long derive(long seed, String purpose) {
    long h = seed ^ 0x9E3779B97F4A7C15L;
    for (byte b : purpose.getBytes(StandardCharsets.UTF_8)) {
      h = mix(h ^ b);
    }
    return mix(h);
  }

  // SplitMix64's finaliser: a cheap bijection that spreads every input bit over the output.
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
