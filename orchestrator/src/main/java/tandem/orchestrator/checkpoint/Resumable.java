package tandem.orchestrator.checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import tandem.model.spec.InvalidSpecException;
import tandem.model.spec.JobSpecCompiler;
import tandem.model.spec.TrainingPlan;

/**
 * A job found in the job directory, ready to resume: its plan (the spec compiled again, which
 * reads its data) and its latest checkpoint, or none when it stopped before the first. Loading
 * reads files and data: call it off actors and gRPC threads. Immutable.
 *
 * @param checkpoint null when the job starts over from step 0
 */
public record Resumable(String jobId, TrainingPlan plan, Checkpoint checkpoint) {

  /**
   * Loads job {@code jobId} from its newest intact checkpoint (a damaged latest one is refused,
   * logged with the reason, and the previous one used). Throws NoSuchFileException if it has no
   * directory, and an {@link IOException} naming every checkpoint refused when it has some but
   * none intact: such a job must not silently start over from step 0.
   */
  public static Resumable load(Path jobDir, String jobId)
      throws IOException, InvalidSpecException {
    JobDirectory directory = new JobDirectory(jobDir, jobId);
    JobDirectory.Loaded loaded = directory.readNewestIntact();
    if (loaded.checkpoint().isEmpty() && !loaded.refused().isEmpty()) {
      throw new IOException("job " + jobId + " has no intact checkpoint: "
          + String.join("; ", loaded.refused()));
    }
    loaded.refused().forEach(reason -> org.slf4j.LoggerFactory.getLogger(Resumable.class)
        .warn("job {}: checkpoint refused, the previous one used: {}", jobId, reason));
    Checkpoint checkpoint = loaded.checkpoint().orElse(null);
    TrainingPlan plan = JobSpecCompiler.compile(
        checkpoint != null ? checkpoint.spec() : directory.readSpec());
    return new Resumable(jobId, plan, checkpoint);
  }

  /** Ids of the jobs under {@code jobDir} that did not finish. */
  public static List<String> unfinished(Path jobDir) throws IOException {
    List<String> ids = new ArrayList<>();
    for (String id : JobDirectory.jobIds(jobDir)) {
      // Only directories named like job ids: anything else there was not made by a server.
      if (tandem.orchestrator.job.JobIds.isValid(id) && !new JobDirectory(jobDir, id).finished()) {
        ids.add(id);
      }
    }
    return ids;
  }

  /** Whether {@code jobId} has a directory under {@code jobDir}. */
  public static boolean exists(Path jobDir, String jobId) {
    return Files.isRegularFile(new JobDirectory(jobDir, jobId).path().resolve("spec.pb"));
  }
}
