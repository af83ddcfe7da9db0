package tandem.client;

/**
 * Handle of a running {@link TandemClient#watch} stream. Thread-safe: {@link #cancel} may be
 * called from any thread, any number of times.
 */
public interface EventSubscription {

  /** Stops the stream; the listener gets no further calls, bar one already in progress. */
  void cancel();

  /** Whether {@link #cancel} was called. */
  boolean isCancelled();
}
