package tandem.bench;

import java.time.Duration;

/**
 * The figures of one job run through the full actor path, read from the job's own events.
 *
 * @param examplesPerSecond {@code JobFinished.examples_per_second}: examples over the job's
 *     elapsed time, from {@code JobStarted} (after placement) to the end, evaluation included
 * @param elapsed {@code JobFinished.elapsed}
 * @param trainingTime from the {@code JobStarted} event's time to the last {@code StepCompleted}
 *     event's time: the steps alone, without the final evaluation and parameter collection
 * @param computeTime sum of the steps' {@code compute_time} (forward, backward, head update on
 *     the worker)
 * @param queueTime sum of the steps' {@code queue_time} (dispatch to start of compute)
 * @param clientTime from submission to the last event, as the client saw it (spec compilation,
 *     data loading and placement included)
 * @param evaluation the job's final evaluation, metric per task and output ({@code task/output})
 * @param laterExamplesPerSecond examples per second of the job's second half of steps, by their
 *     events' times (from the middle step's event to the last one's): training once whatever
 *     started with the job (a page loading, warm-up) is behind it
 */
public record ActorRun(long steps, long examples, double examplesPerSecond, Duration elapsed,
    Duration trainingTime, Duration computeTime, Duration queueTime, Duration clientTime,
    LossTrace losses, java.util.Map<String, Double> evaluation, double laterExamplesPerSecond) {

  /** Examples per second of {@link #trainingTime()}. */
  public double trainingExamplesPerSecond() {
    return examples / seconds(trainingTime);
  }

  /** Mean time per step outside the worker's compute: messages, sync round, event log. */
  public Duration overheadPerStep() {
    return trainingTime.minus(computeTime).dividedBy(Math.max(1, steps));
  }

  static double seconds(Duration duration) {
    return duration.toNanos() / 1e9;
  }
}
