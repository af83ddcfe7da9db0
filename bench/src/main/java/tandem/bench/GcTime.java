package tandem.bench;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;

/**
 * The JVM's garbage-collection time so far, summed over its collectors (pauses, and for
 * collectors that report it, concurrent work): taken before and after a run, it says how much of
 * the run went to collecting the garbage its path made. Stateless.
 */
public final class GcTime {

  private GcTime() {}

  /** Collection time since the JVM started. */
  public static Duration total() {
    long millis = 0;
    for (GarbageCollectorMXBean collector : ManagementFactory.getGarbageCollectorMXBeans()) {
      millis += Math.max(0, collector.getCollectionTime());
    }
    return Duration.ofMillis(millis);
  }
}
