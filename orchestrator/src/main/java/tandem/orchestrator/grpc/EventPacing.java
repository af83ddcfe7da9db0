package tandem.orchestrator.grpc;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How long a live event waits in an {@link EventStream} for others to go out with it (the
 * linger), from how many streams share this pacing. Every send costs the server a wake-up of a
 * stream thread, an HTTP/2 frame and a write whatever it holds (about 75 µs on this project's
 * 2-core machine), so with a fixed linger that work grows with the number of subscribers:
 * 100 subscribers at 100 ms took the server's Netty and stream threads about 0.5 s of CPU in a
 * 6 s round of 20 jobs (bench/run.sh soak), beside the training. Paced, the linger grows once
 * the streams would send more than {@code sendsPerSecond} together: it is {@code open streams ÷
 * sendsPerSecond}, never below {@code least} (a lone follower still sees events within it) nor
 * above {@code most} (a follower of a busy server still sees them within that). The streams whose
 * batches start while one is lingering go out with it, in one task ({@link #later}): one timer
 * and one wake-up of the stream thread for all of them instead of one per stream. With 100
 * subscribers the stream thread's CPU went from 0.09-0.14 s to 0.06-0.12 s a soak round; most
 * of what is left is serializing the events (bench/run.sh soak). Thread-safe.
 */
public final class EventPacing {

  private static final Logger LOG = LoggerFactory.getLogger(EventPacing.class);

  private final long leastNanos;
  private final long mostNanos;
  private final double sendsPerSecond;
  private final AtomicInteger open = new AtomicInteger();
  private final Object lock = new Object();
  /** Sends waiting for the lingering batch to go out; guarded by {@link #lock}. */
  private List<Runnable> due = new ArrayList<>();
  /** Whether a task is scheduled to run {@link #due}; guarded by {@link #lock}. */
  private boolean scheduled;

  private EventPacing(Duration least, Duration most, double sendsPerSecond) {
    if (least.isNegative() || most.compareTo(least) < 0) {
      throw new IllegalArgumentException("linger bounds must be 0 <= least <= most, found "
          + least + " and " + most);
    }
    if (!(sendsPerSecond >= 0) || Double.isInfinite(sendsPerSecond)) {
      throw new IllegalArgumentException("sends per second must be 0 (not paced) or more, found "
          + sendsPerSecond);
    }
    this.leastNanos = least.toNanos();
    this.mostNanos = most.toNanos();
    this.sendsPerSecond = sendsPerSecond;
  }

  /** Always {@code linger}, however many streams are open. */
  public static EventPacing fixed(Duration linger) {
    return new EventPacing(linger, linger, 0);
  }

  /**
   * At least {@code least} and at most {@code most}, between them as long as keeps the open
   * streams' sends to {@code sendsPerSecond} together (0: always {@code least}).
   */
  public static EventPacing shared(Duration least, Duration most, double sendsPerSecond) {
    return new EventPacing(least, most, sendsPerSecond);
  }

  /** The linger for a batch starting now. */
  long lingerNanos() {
    if (sendsPerSecond == 0) {
      return leastNanos;
    }
    long paced = (long) (open.get() * 1e9 / sendsPerSecond);
    return Math.max(leastNanos, Math.min(mostNanos, paced));
  }

  /**
   * Runs {@code send} on {@code executor} once the linger is over: at the end of the linger
   * already under way for another stream's batch, or, if none is, after a linger from now (at
   * once when the linger is 0). The streams sharing this pacing must share the executor.
   *
   * @throws RejectedExecutionException if the executor takes no more work (shutting down)
   */
  void later(Runnable send, ScheduledExecutorService executor) {
    long delayNanos = lingerNanos();
    if (delayNanos <= 0) {
      executor.execute(send);
      return;
    }
    synchronized (lock) {
      due.add(send);
      if (scheduled) {
        return;
      }
      scheduled = true;
    }
    try {
      executor.schedule(this::sendDue, delayNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      synchronized (lock) {
        due = new ArrayList<>();
        scheduled = false;
      }
      throw e;
    }
  }

  /** The sends due now, each on its own: one that fails does not hold up the others. */
  private void sendDue() {
    List<Runnable> sends;
    synchronized (lock) {
      sends = due;
      due = new ArrayList<>();
      scheduled = false;
    }
    for (Runnable send : sends) {
      try {
        send.run();
      } catch (RuntimeException e) {
        LOG.warn("sending an event stream's batch failed", e);
      }
    }
  }

  /** The linger for a batch starting now, as a duration. */
  public Duration linger() {
    return Duration.ofNanos(lingerNanos());
  }

  /** Streams open now. */
  public int openStreams() {
    return open.get();
  }

  void opened() {
    open.incrementAndGet();
  }

  void closed() {
    open.decrementAndGet();
  }
}
