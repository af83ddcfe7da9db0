package tandem.model.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A map that keeps at most {@code capacity} entries and drops the least recently used one when a
 * new one would exceed it: the per-batch-size buffer sets of {@link TaskProgram} and
 * {@link PathRunner}, which Predict requests of ever new row counts would otherwise grow without
 * bound. A dropped entry's ND4J arrays are freed when the garbage collector reclaims them. The
 * dashboard keeps the histories its overviews read on in one too.
 * Not thread-safe, like its owners.
 */
public final class LruCache<K, V> extends LinkedHashMap<K, V> {

  private final int capacity;

  public LruCache(int capacity) {
    super(16, 0.75f, true);
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1, got " + capacity);
    }
    this.capacity = capacity;
  }

  @Override
  protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
    return size() > capacity;
  }
}
