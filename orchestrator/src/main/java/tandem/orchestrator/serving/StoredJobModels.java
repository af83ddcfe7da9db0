package tandem.orchestrator.serving;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.api.v1.JobState;
import tandem.model.bundle.ModelBundle;
import tandem.orchestrator.checkpoint.Checkpoint;
import tandem.orchestrator.checkpoint.JobDirectory;
import tandem.orchestrator.job.JobIds;
import tandem.orchestrator.serving.ModelLookupException.Reason;

/**
 * Succeeded jobs' models as their job directories keep them after a restart: the final
 * checkpoint (the one {@code LATEST} names; the job ended right after it) of every job marked
 * succeeded. Static methods only; they read files.
 */
final class StoredJobModels {

  private StoredJobModels() {}

  /** Ids of the succeeded jobs under {@code jobDir} (null: none), newest first. */
  static List<String> succeeded(Path jobDir) {
    if (jobDir == null) {
      return List.of();
    }
    List<String> ids = new ArrayList<>();
    try {
      for (String id : JobDirectory.jobIds(jobDir)) {
        if (JobIds.isValid(id) && isSucceeded(new JobDirectory(jobDir, id))) {
          ids.add(id);
        }
      }
    } catch (IOException e) {
      return List.of();
    }
    Collections.reverse(ids);
    return ids;
  }

  /**
   * Job {@code jobId}'s model from its directory; empty when there is no such directory; a
   * {@link ModelLookupException} saying why when the job did not succeed or its final
   * checkpoint is missing or damaged.
   */
  static Optional<ModelBundle> load(Path jobDir, String jobId) throws ModelLookupException {
    if (jobDir == null || !JobIds.isValid(jobId)) {
      return Optional.empty();
    }
    JobDirectory directory = new JobDirectory(jobDir, jobId);
    try {
      Optional<String> state = directory.finishedState();
      if (state.isEmpty()) {
        if (!java.nio.file.Files.isDirectory(directory.path())) {
          return Optional.empty();
        }
        throw new ModelLookupException(Reason.NOT_SUCCEEDED, "job " + jobId
            + " has no trained model: it did not finish (the server stopped while it ran)");
      }
      if (!state.get().equals(JobState.JOB_STATE_SUCCEEDED.name())) {
        throw new ModelLookupException(Reason.NOT_SUCCEEDED, "job " + jobId
            + " has no trained model: it is "
            + state.get().replace("JOB_STATE_", "").toLowerCase());
      }
      Checkpoint last = directory.readFinal().orElseThrow(() -> new ModelLookupException(
          Reason.NOT_SUCCEEDED, "job " + jobId + " succeeded before this server started but"
          + " left no final checkpoint to serve its model from (checkpoints were disabled)"));
      Map<String, INDArray> parameters = new LinkedHashMap<>();
      for (String module : last.spec().getModulesList().stream()
          .map(tandem.api.v1.ModuleSpec::getName).toList()) {
        INDArray values = last.parameters().get(module);
        if (values != null) {
          parameters.put(module, values);
        }
      }
      return Optional.of(new ModelBundle(last.spec(), parameters, ModelBundle.provenance(jobId,
          last.spec(), last.step(), ModelRegistry.dataSets(last.spec())), List.of()));
    } catch (IOException e) {
      throw new ModelLookupException(Reason.NOT_SUCCEEDED, "job " + jobId + ": its final"
          + " checkpoint cannot be read: " + e.getMessage());
    }
  }

  private static boolean isSucceeded(JobDirectory directory) throws IOException {
    return directory.finishedState().map(JobState.JOB_STATE_SUCCEEDED.name()::equals)
        .orElse(false);
  }
}
