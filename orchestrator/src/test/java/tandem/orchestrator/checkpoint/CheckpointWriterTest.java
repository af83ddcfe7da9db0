package tandem.orchestrator.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One writer per job directory, shared across the job's coordinators. */
class CheckpointWriterTest {

  @TempDir
  Path temp;

  @Test
  void aResumedJobsWritesWaitForTheCancelledCoordinatorsWrite() throws Exception {
    CheckpointWriter cancelled = CheckpointWriter.acquire(new JobDirectory(temp, "job-1"));
    CountDownLatch writing = new CountDownLatch(1);
    CountDownLatch finishWrite = new CountDownLatch(1);
    AtomicInteger running = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    CompletableFuture<Void> first = cancelled.submit(d -> {
      most.accumulateAndGet(running.incrementAndGet(), Math::max);
      writing.countDown();
      finishWrite.await(10, TimeUnit.SECONDS);
      running.decrementAndGet();
      return null;
    });
    assertTrue(writing.await(10, TimeUnit.SECONDS));
    // The cancelled job's coordinator stops while its checkpoint is written; the resumed one
    // starts at once on the same directory.
    cancelled.release();
    CheckpointWriter resumed = CheckpointWriter.acquire(new JobDirectory(temp, "job-1"));
    assertSame(cancelled, resumed, "the writer is shared until its writes are done");
    CompletableFuture<Void> second = resumed.markFinished("JOB_STATE_CANCELLED")
        .thenRun(() -> most.accumulateAndGet(running.incrementAndGet(), Math::max));
    assertThrows(TimeoutException.class, () -> second.get(200, TimeUnit.MILLISECONDS));
    finishWrite.countDown();
    first.get(10, TimeUnit.SECONDS);
    second.get(10, TimeUnit.SECONDS);
    assertEquals(1, most.get(), "two writes at once");
    assertTrue(new JobDirectory(temp, "job-1").finished());
    resumed.release();
  }

  @Test
  void theLastReleaseEndsTheWriterAfterItsWrites() throws Exception {
    JobDirectory directory = new JobDirectory(temp, "job-2");
    CheckpointWriter writer = CheckpointWriter.acquire(directory);
    CompletableFuture<Void> mark = writer.markFinished("JOB_STATE_SUCCEEDED");
    writer.release();
    mark.get(10, TimeUnit.SECONDS);
    assertTrue(directory.finished());
    // The release's clean-up runs on the writer's thread after the mark; poll for it.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (CheckpointWriter.holders(directory) != 0 || !CheckpointWriter.released(directory)) {
      assertTrue(System.nanoTime() < deadline, "the writer was never dropped");
      Thread.onSpinWait();
    }
    CheckpointWriter next = CheckpointWriter.acquire(directory);
    assertNotSame(writer, next);
    next.release();
  }
}
