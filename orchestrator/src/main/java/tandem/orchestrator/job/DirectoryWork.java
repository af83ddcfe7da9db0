package tandem.orchestrator.job;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tandem.api.v1.JobSpec;
import tandem.orchestrator.checkpoint.JobDirectory;

/**
 * The job manager's writes to job directories (specs, finished marks), which fsync and so
 * block: run one after another, in the order asked, on a blocking executor, never on the
 * manager's thread. One outlives the manager's restarts, so the order holds across them.
 * Thread-safe.
 */
final class DirectoryWork {

  private static final Logger LOG = LoggerFactory.getLogger(DirectoryWork.class);

  /** A write to a job directory. */
  @FunctionalInterface
  interface Write {
    void run(JobDirectory directory) throws IOException;
  }

  private final Path jobDir;
  private CompletableFuture<Void> tail = CompletableFuture.completedFuture(null);

  /** @param jobDir the parent of every job's directory */
  DirectoryWork(Path jobDir) {
    this.jobDir = jobDir;
  }

  /**
   * Runs {@code write} on job {@code jobId}'s directory after every write asked before it;
   * completes when it ran, normally even when it failed (logged, with {@code what}).
   */
  synchronized CompletionStage<Void> submit(Executor blocking, String jobId, String what,
      Write write) {
    tail = tail.thenRunAsync(() -> {
      try {
        write.run(new JobDirectory(jobDir, jobId));
      } catch (IOException | RuntimeException e) {
        LOG.warn("job {}: cannot {} under {}", jobId, what, jobDir, e);
      }
    }, blocking);
    return tail;
  }

  /** Records the spec of a job just submitted. */
  CompletionStage<Void> writeSpec(Executor blocking, String jobId, JobSpec spec) {
    return submit(blocking, jobId, "write its spec (it cannot be resumed)",
        directory -> directory.writeSpec(spec));
  }
}
