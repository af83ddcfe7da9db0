package tandem.orchestrator.checkpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The only writer of one job directory: checkpoints, the finished mark and the deletes of older
 * checkpoints ({@link JobDirectory#write}) run one after another on its own thread, off every
 * actor's dispatcher. There is one per directory in the JVM, shared by every coordinator of the
 * job that holds it ({@link #acquire}): a job cancelled while a checkpoint is written and then
 * resumed gets the same writer, so its new coordinator's writes queue behind the old one's
 * instead of racing them. Released by each holder when done; the thread ends once the last
 * holder released it and the queue is drained. Thread-safe.
 */
public final class CheckpointWriter {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(
      CheckpointWriter.class);

  /** Writers by absolute directory; guarded by the class. */
  private static final Map<Path, CheckpointWriter> WRITERS = new HashMap<>();

  /** A write on the job directory. */
  @FunctionalInterface
  public interface Write<T> {
    T run(JobDirectory directory) throws IOException, InterruptedException;
  }

  private final Path key;
  private final JobDirectory directory;
  private final ExecutorService executor;
  /** Holders; guarded by the class. */
  private int holders;

  private CheckpointWriter(Path key, JobDirectory directory) {
    this.key = key;
    this.directory = directory;
    this.executor = Executors.newSingleThreadExecutor(runnable -> {
      Thread thread = new Thread(runnable, "tandem-checkpoint-writer-" + directory.jobId());
      thread.setDaemon(true);
      return thread;
    });
  }

  /** The writer of {@code directory}, shared with every other holder; {@link #release} it. */
  public static CheckpointWriter acquire(JobDirectory directory) {
    Path key = directory.path().toAbsolutePath().normalize();
    synchronized (CheckpointWriter.class) {
      CheckpointWriter writer = WRITERS.computeIfAbsent(key, k -> new CheckpointWriter(k,
          directory));
      writer.holders++;
      return writer;
    }
  }

  /** Holders of a writer for {@code directory} now (tests). */
  static int holders(JobDirectory directory) {
    synchronized (CheckpointWriter.class) {
      CheckpointWriter writer = WRITERS.get(directory.path().toAbsolutePath().normalize());
      return writer == null ? 0 : writer.holders;
    }
  }

  /** Whether no writer of {@code directory} is registered (tests). */
  static boolean released(JobDirectory directory) {
    synchronized (CheckpointWriter.class) {
      return !WRITERS.containsKey(directory.path().toAbsolutePath().normalize());
    }
  }

  /**
   * Done with it. The writes already queued still run; the last holder's release ends the thread
   * after them, unless someone acquired the writer again meanwhile.
   */
  public void release() {
    synchronized (CheckpointWriter.class) {
      if (--holders > 0) {
        return;
      }
    }
    executor.execute(() -> {
      synchronized (CheckpointWriter.class) {
        if (holders == 0 && WRITERS.get(key) == this) {
          WRITERS.remove(key);
          executor.shutdown();
        }
      }
    });
  }

  /**
   * Waits, at most {@code timeout} in all, until the writes queued so far on every job directory
   * under {@code root} have run: a server that shuts down finishes the checkpoints its jobs'
   * coordinators queued as they stopped, so that a server started next on the same directory
   * reads them whole (and no old write lands under it).
   */
  public static void drain(Path root, java.time.Duration timeout) throws InterruptedException {
    Path prefix = root.toAbsolutePath().normalize();
    List<CheckpointWriter> writers;
    synchronized (CheckpointWriter.class) {
      writers = WRITERS.entrySet().stream().filter(entry -> entry.getKey().startsWith(prefix))
          .map(Map.Entry::getValue).toList();
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    for (CheckpointWriter writer : writers) {
      try {
        CompletableFuture.runAsync(() -> { }, writer.executor)
            .get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException e) {
        // Its last holder released it and its queue is done.
      } catch (ExecutionException | TimeoutException e) {
        LOG.warn("checkpoint writes of {} still running after {}", writer.key, timeout);
      }
    }
  }

  public JobDirectory directory() {
    return directory;
  }

  /** Writes {@code checkpoint} and makes it the latest; completes with its directory. */
  public CompletableFuture<Path> write(Checkpoint checkpoint) {
    return submit(d -> d.write(checkpoint));
  }

  /** Marks the job as ended, after every write queued before. */
  public CompletableFuture<Void> markFinished(String state) {
    return submit(d -> {
      d.markFinished(state);
      return null;
    });
  }

  /** Runs {@code write} after every write queued before. */
  public <T> CompletableFuture<T> submit(Write<T> write) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return write.run(directory);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CompletionException(e);
      }
    }, executor);
  }
}
