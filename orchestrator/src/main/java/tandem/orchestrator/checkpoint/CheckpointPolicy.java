package tandem.orchestrator.checkpoint;

import java.time.Duration;
import tandem.api.v1.CheckpointSpec;

/**
 * When a job's next checkpoint is due: after {@code everySteps} steps or {@code every} time since
 * the last one, whichever comes first, unless the spec disables checkpoints. With the server's
 * default steps (a spec without {@code every_steps}) the steps count only once {@code
 * minInterval} has passed since the last checkpoint. Plain class, confined to the coordinator.
 */
public final class CheckpointPolicy {

  private final boolean enabled;
  private final long everySteps;
  private final long everyNanos;
  private final long minIntervalNanos;
  private final int events;
  private long lastStep;
  private long lastNanos;

  /** A policy that never takes a checkpoint (a job without a directory). */
  public static CheckpointPolicy never() {
    return new CheckpointPolicy(CheckpointSpec.newBuilder().setDisabled(true).build(),
        new CheckpointSettings(null, Long.MAX_VALUE, Duration.ZERO, Duration.ZERO, false, 0), 0,
        0);
  }

  public CheckpointPolicy(CheckpointSpec spec, CheckpointSettings defaults, long step,
      long nowNanos) {
    this.enabled = !spec.getDisabled();
    this.everySteps = spec.getEverySteps() > 0 ? spec.getEverySteps() : defaults.everySteps();
    Duration every = spec.hasEvery()
        ? Duration.ofSeconds(spec.getEvery().getSeconds(), spec.getEvery().getNanos())
        : defaults.every();
    this.everyNanos = every.isZero() || every.isNegative() ? Long.MAX_VALUE : every.toNanos();
    this.minIntervalNanos = spec.getEverySteps() > 0 ? 0 : Math.max(0,
        defaults.minInterval().toNanos());
    this.lastStep = step;
    this.lastNanos = nowNanos;
    this.events = defaults.events();
  }

  /** The newest events a checkpoint keeps ({@link CheckpointSettings#events()}). */
  public int events() {
    return events;
  }

  public boolean enabled() {
    return enabled;
  }

  /** Whether a checkpoint is due with {@code step} steps done. */
  public boolean due(long step, long nowNanos) {
    long since = nowNanos - lastNanos;
    return enabled && step > lastStep
        && (step - lastStep >= everySteps && since >= minIntervalNanos || since >= everyNanos);
  }

  /** Whether the final checkpoint (at the end of training) is still to take. */
  public boolean finalDue(long step) {
    return enabled && step > lastStep;
  }

  /** Records a checkpoint taken at {@code step}. */
  public void taken(long step, long nowNanos) {
    lastStep = step;
    lastNanos = nowNanos;
  }

  /** The step of the latest checkpoint, or where the job (re)started. */
  public long lastStep() {
    return lastStep;
  }
}
