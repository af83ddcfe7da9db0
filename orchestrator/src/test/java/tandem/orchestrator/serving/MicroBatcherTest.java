package tandem.orchestrator.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Batching by key, delay and size, and failures confined to their batch. The delay runs out when
 * the test says so ({@link ManualTimer#fire}), never by the clock, so no result depends on how
 * fast the machine is.
 */
class MicroBatcherTest {

  /** A timer whose scheduled tasks run only when {@link #fire} is called. */
  private static final class ManualTimer extends ScheduledThreadPoolExecutor {
    private final List<Runnable> scheduled = Collections.synchronizedList(new ArrayList<>());

    ManualTimer() {
      super(1);
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
      scheduled.add(command);
      // A stand-in the batcher may cancel; it never runs anything.
      return super.schedule(() -> { }, 1, TimeUnit.DAYS);
    }

    /** Runs every task scheduled so far, as if its delay had run out. */
    void fire() {
      List<Runnable> due;
      synchronized (scheduled) {
        due = new ArrayList<>(scheduled);
        scheduled.clear();
      }
      due.forEach(Runnable::run);
    }
  }

  private final ManualTimer timer = new ManualTimer();
  private final ExecutorService compute = Executors.newSingleThreadExecutor();
  /** Every batch the runner saw, as (key, inputs). */
  private final List<List<String>> batches = Collections.synchronizedList(new ArrayList<>());

  @AfterEach
  void stop() {
    timer.shutdownNow();
    compute.shutdownNow();
  }

  private MicroBatcher<String, String, String> batcher(Duration delay, int maxRows) {
    return new MicroBatcher<>(delay, maxRows, timer, compute, (key, inputs) -> {
      List<String> batch = new ArrayList<>();
      batch.add(key);
      batch.addAll(inputs);
      batches.add(batch);
      if (inputs.contains("boom")) {
        throw new IllegalStateException("boom");
      }
      return inputs.stream().map(input -> key + ":" + input).toList();
    });
  }

  private static String get(CompletableFuture<String> future) throws Exception {
    return future.get(5, TimeUnit.SECONDS);
  }

  @Test
  void requestsWithinTheDelayRunAsOneBatchPerKey() throws Exception {
    MicroBatcher<String, String, String> batcher = batcher(Duration.ofMillis(200), 100);
    CompletableFuture<String> a = batcher.submit("t1", "a", 1);
    CompletableFuture<String> b = batcher.submit("t1", "b", 2);
    CompletableFuture<String> c = batcher.submit("t2", "c", 1);
    compute.submit(() -> { }).get(5, TimeUnit.SECONDS);
    assertTrue(batches.isEmpty() && !a.isDone() && !c.isDone(), "nothing runs before the delay");
    timer.fire();
    assertEquals("t1:a", get(a));
    assertEquals("t1:b", get(b));
    assertEquals("t2:c", get(c));
    assertEquals(2, batches.size());
    assertEquals(List.of("t1", "a", "b"), batches.stream().filter(x -> x.get(0).equals("t1"))
        .findFirst().orElseThrow());
  }

  @Test
  void aFullBatchRunsWithoutWaitingAndTheNextStartsAfresh() throws Exception {
    // A delay far beyond the test's deadline: only the size can make the first batch run.
    MicroBatcher<String, String, String> batcher = batcher(Duration.ofMinutes(5), 3);
    CompletableFuture<String> a = batcher.submit("t", "a", 2);
    CompletableFuture<String> b = batcher.submit("t", "b", 1);
    assertEquals("t:a", get(a));
    assertEquals("t:b", get(b));
    // Too big to join a pending batch: the pending one goes first, the big one runs alone.
    CompletableFuture<String> c = batcher.submit("t", "c", 1);
    CompletableFuture<String> d = batcher.submit("t", "d", 5);
    assertEquals("t:c", get(c));
    assertEquals("t:d", get(d));
    assertEquals(List.of(List.of("t", "a", "b"), List.of("t", "c"), List.of("t", "d")), batches);
  }

  @Test
  void zeroDelayRunsEveryRequestAtOnce() throws Exception {
    MicroBatcher<String, String, String> batcher = batcher(Duration.ZERO, 100);
    assertEquals("t:a", get(batcher.submit("t", "a", 1)));
    assertEquals(List.of(List.of("t", "a")), batches);
  }

  @Test
  void aFailingBatchFailsItsRequestsOnly() throws Exception {
    MicroBatcher<String, String, String> batcher = batcher(Duration.ofMillis(100), 100);
    CompletableFuture<String> a = batcher.submit("t", "a", 1);
    CompletableFuture<String> boom = batcher.submit("t", "boom", 1);
    CompletableFuture<String> other = batcher.submit("u", "x", 1);
    timer.fire();
    ExecutionException e = assertThrows(ExecutionException.class, () -> get(a));
    assertInstanceOf(IllegalStateException.class, e.getCause());
    assertThrows(ExecutionException.class, () -> get(boom));
    assertEquals("u:x", get(other));
    CompletableFuture<String> after = batcher.submit("t", "after", 1);
    timer.fire();
    assertEquals("t:after", get(after));
  }
}
