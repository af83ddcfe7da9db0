package tandem.orchestrator.job;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import tandem.orchestrator.checkpoint.JobDirectory;

/**
 * What a (re)started {@link JobManager} finds of its state where it outlives the manager: the
 * highest job number among the job directories and the jobs in the store, and each running
 * job's coordinator among its children; and the {@link Memory} one incarnation hands the next.
 */
final class ManagerRecovery {

  private ManagerRecovery() {}

  /** The largest n of the job-n ids under {@code jobDir} (null: none) and in {@code store}. */
  static long highestJobNumber(Path jobDir, JobStore store) {
    long highest = 0;
    if (jobDir != null) {
      try {
        for (String id : JobDirectory.jobIds(jobDir)) {
          if (JobIds.isValid(id)) {
            highest = Math.max(highest, JobIds.number(id));
          }
        }
      } catch (java.io.IOException | NumberFormatException e) {
        // No readable directory yet: ids start after the store's.
      }
    }
    for (JobRecord record : store.all()) {
      if (JobIds.isValid(record.jobId())) {
        highest = Math.max(highest, JobIds.number(record.jobId()));
      }
    }
    return highest;
  }

  /**
   * Coordinators among {@code children}, by job id: a job's coordinator is named by its id, or
   * by its id and {@code -n} (a resumed job's, the n-th spawned); of several, the highest n.
   */
  static Map<String, ActorRef<Coordinator.Command>> coordinators(List<ActorRef<Void>> children) {
    Map<String, ActorRef<Coordinator.Command>> newest = new HashMap<>();
    Map<String, Long> newestSuffix = new HashMap<>();
    for (ActorRef<Void> child : children) {
      String name = child.path().name();
      String jobId = name;
      long suffix = 0;
      int dash = name.lastIndexOf('-');
      if (!JobIds.isValid(name)) {
        if (dash <= 0 || !JobIds.isValid(name.substring(0, dash))) {
          continue;
        }
        jobId = name.substring(0, dash);
        try {
          suffix = Long.parseLong(name.substring(dash + 1));
        } catch (NumberFormatException e) {
          continue;
        }
      }
      if (suffix >= newestSuffix.getOrDefault(jobId, -1L)) {
        newest.put(jobId, child.unsafeUpcast());
        newestSuffix.put(jobId, suffix);
      }
    }
    return newest;
  }

  /** What a restarted manager takes over from the one before it. Confined to the manager. */
  static final class Memory {
    List<JobManager.WorkerHandle> workers;
    long coordinatorsSpawned;
    boolean started;
    final DirectoryWork directories;

    Memory(List<JobManager.WorkerHandle> workers, DirectoryWork directories) {
      this.workers = List.copyOf(workers);
      this.directories = directories;
    }
  }
}
