package tandem.orchestrator.job;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * How long a job's coordinator waits for each kind of reply before the job fails naming what it
 * waited for and from whom, from {@code tandem.orchestrator} (defaults in reference.conf).
 * Immutable.
 *
 * @param assign the starting parameters, the shared-parameter actor and every worker taking its
 *     tasks ({@code assign-timeout})
 * @param step a step out without progress: its outcome from its worker, or the application of
 *     its gradient by the shared-parameter actor (a sync round that never completes)
 *     ({@code step-timeout})
 * @param evaluate each worker's evaluation reply ({@code evaluate-timeout})
 * @param collect the final heads from each worker and the trunk ({@code collect-timeout})
 * @param checkpointCollect each worker's task state and the shared state for a checkpoint
 *     ({@code checkpoint-collect-timeout})
 * @param checkpointWrite a checkpoint write or the finished mark by the job directory's writer
 *     ({@code checkpoint-write-timeout})
 * @param answer the coordinator itself answering the job manager's periodic check, which fails
 *     the job when its thread is stuck ({@code coordinator-answer-timeout}, see {@link
 *     RunningJobs}); must be positive
 */
public record CoordinatorTimeouts(Duration assign, Duration step, Duration evaluate,
    Duration collect, Duration checkpointCollect, Duration checkpointWrite, Duration answer) {

  public CoordinatorTimeouts {
    if (answer.isNegative() || answer.isZero()) {
      throw new IllegalArgumentException(
          "tandem.orchestrator.coordinator-answer-timeout must be positive, found " + answer);
    }
  }

  public static CoordinatorTimeouts create(Config config) {
    Config c = config.getConfig("tandem.orchestrator");
    return new CoordinatorTimeouts(c.getDuration("assign-timeout"),
        c.getDuration("step-timeout"), c.getDuration("evaluate-timeout"),
        c.getDuration("collect-timeout"), c.getDuration("checkpoint-collect-timeout"),
        c.getDuration("checkpoint-write-timeout"), c.getDuration("coordinator-answer-timeout"));
  }

  /** "timed out after 30s waiting for WHAT": the message of every expired wait. */
  static String expired(Duration timeout, String what) {
    return "timed out after " + readable(timeout) + " waiting for " + what;
  }

  static String readable(Duration duration) {
    return duration.toString().substring(2).toLowerCase(java.util.Locale.ROOT);
  }
}
