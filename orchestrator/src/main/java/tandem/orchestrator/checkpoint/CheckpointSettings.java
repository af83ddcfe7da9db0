package tandem.orchestrator.checkpoint;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Where jobs keep their directories and how often they checkpoint when their spec does not say,
 * from {@code tandem.orchestrator} (defaults in reference.conf). Immutable.
 *
 * @param jobDir parent of every job's directory; null: no checkpoints
 * @param everySteps default steps between checkpoints
 * @param every default time between checkpoints
 * @param minInterval with the default steps (a spec without {@code every_steps}), the least time
 *     between two checkpoints: a job of thousands of steps a second would otherwise checkpoint
 *     several times a second, draining its steps in flight each time
 * @param resumeOnStart whether the server resumes the unfinished jobs it finds at start
 * @param events the newest events a checkpoint keeps, for subscribers that come back after a
 *     resume (older ones read as missed then); the job's status needs none of them
 */
public record CheckpointSettings(Path jobDir, long everySteps, Duration every,
    Duration minInterval, boolean resumeOnStart, int events) {

  public static CheckpointSettings create(Config config) {
    Config c = config.getConfig("tandem.orchestrator");
    String dir = c.getString("job-dir");
    return new CheckpointSettings(
        dir.isBlank() ? null : Path.of(dir),
        c.getLong("checkpoint.every-steps"),
        c.getDuration("checkpoint.every"),
        c.getDuration("checkpoint.min-interval"),
        c.getBoolean("checkpoint.resume-on-start"),
        c.getInt("checkpoint.events"));
  }

  /** Whether jobs have directories (and so checkpoints and resume). */
  public boolean enabled() {
    return jobDir != null;
  }

  public CheckpointSettings withJobDir(Path dir) {
    return new CheckpointSettings(dir, everySteps, every, minInterval, resumeOnStart, events);
  }
}
