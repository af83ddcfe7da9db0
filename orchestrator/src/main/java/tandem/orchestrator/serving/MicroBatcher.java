package tandem.orchestrator.serving;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Groups concurrent requests with the same key into one batch: the first request of a batch waits
 * at most {@code maxDelay} for others; a batch runs as soon as it holds {@code maxRows} rows (a
 * request that alone exceeds that runs as a batch of its own). Batches run on the compute
 * executor through the {@link Runner}, whose outputs complete the requests' futures in order; a
 * runner failure fails every request of that batch and no other.
 *
 * <p>Thread-safe: {@link #submit} may be called from any thread.
 *
 * @param <K> what requests must share to be batched (e.g. model and task)
 * @param <I> one request's input
 * @param <O> one request's output
 */
public final class MicroBatcher<K, I, O> {

  /** Runs one batch: one output per input, in the inputs' order. */
  @FunctionalInterface
  public interface Runner<K, I, O> {
    List<O> run(K key, List<I> inputs) throws Exception;
  }

  /** The requests gathered for one key, until they run. */
  private final class Pending {
    final K key;
    final List<I> inputs = new ArrayList<>();
    final List<CompletableFuture<O>> futures = new ArrayList<>();
    int rows;
    ScheduledFuture<?> timer;

    Pending(K key) {
      this.key = key;
    }
  }

  private final Duration maxDelay;
  private final int maxRows;
  private final ScheduledExecutorService timer;
  private final Executor compute;
  private final Runner<K, I, O> runner;
  private final Map<K, Pending> gathering = new HashMap<>();

  public MicroBatcher(Duration maxDelay, int maxRows, ScheduledExecutorService timer,
      Executor compute, Runner<K, I, O> runner) {
    if (maxDelay.isNegative() || maxRows <= 0) {
      throw new IllegalArgumentException("expected a delay >= 0 and positive rows, found "
          + maxDelay + " and " + maxRows);
    }
    this.maxDelay = maxDelay;
    this.maxRows = maxRows;
    this.timer = timer;
    this.compute = compute;
    this.runner = runner;
  }

  /** Queues {@code input} ({@code rows} rows) for a batch of {@code key}. */
  public CompletableFuture<O> submit(K key, I input, int rows) {
    CompletableFuture<O> future = new CompletableFuture<>();
    List<Pending> ready = new ArrayList<>(2);
    synchronized (this) {
      Pending pending = gathering.get(key);
      if (pending != null && pending.rows + rows > maxRows) {
        ready.add(take(pending));
        pending = null;
      }
      if (pending == null) {
        pending = new Pending(key);
        gathering.put(key, pending);
      }
      pending.inputs.add(input);
      pending.futures.add(future);
      pending.rows += rows;
      if (pending.rows >= maxRows || maxDelay.isZero()) {
        ready.add(take(pending));
      } else if (pending.timer == null) {
        Pending waiting = pending;
        pending.timer = timer.schedule(() -> onDelayOver(waiting), maxDelay.toNanos(),
            TimeUnit.NANOSECONDS);
      }
    }
    ready.forEach(this::dispatch);
    return future;
  }

  private void onDelayOver(Pending pending) {
    synchronized (this) {
      if (gathering.get(pending.key) != pending) {
        return; // ran already, full
      }
      take(pending);
    }
    dispatch(pending);
  }

  /** Removes {@code pending} from the gathering ones; the caller holds the lock. */
  private Pending take(Pending pending) {
    gathering.remove(pending.key);
    if (pending.timer != null) {
      pending.timer.cancel(false);
    }
    return pending;
  }

  private void dispatch(Pending pending) {
    try {
      compute.execute(() -> run(pending));
    } catch (RuntimeException rejected) {
      pending.futures.forEach(f -> f.completeExceptionally(rejected));
    }
  }

  private void run(Pending pending) {
    List<O> outputs;
    try {
      outputs = runner.run(pending.key, pending.inputs);
      if (outputs.size() != pending.inputs.size()) {
        throw new IllegalStateException("batch runner returned " + outputs.size()
            + " outputs for " + pending.inputs.size() + " inputs");
      }
    } catch (Throwable e) {
      pending.futures.forEach(f -> f.completeExceptionally(e));
      return;
    }
    for (int i = 0; i < outputs.size(); i++) {
      pending.futures.get(i).complete(outputs.get(i));
    }
  }
}
