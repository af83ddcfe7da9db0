package tandem.client;

import com.google.protobuf.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tandem.api.v1.Evaluation;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobStatus;
import tandem.api.v1.StepCompleted;
import tandem.api.v1.TaskPlacement;
import tandem.api.v1.TaskProgress;
import tandem.api.v1.TrainingEvent;

/**
 * What a watcher knows about a job, folded from its events: steps and losses per task, overall
 * progress, and how it ended. Rates and elapsed time come from the events' own timestamps, so a
 * replayed log gives the same numbers as a live stream.
 *
 * <p>Not thread-safe: confine an instance to the thread that feeds it events.
 */
public final class WatchState {

  /** Weight of each new step in the smoothed loss, as in {@code TaskProgress.smoothed_loss}. */
  public static final double SMOOTHING = 0.1;

  /** One task's numbers so far. Immutable. */
  public record TaskStats(
      String task, long steps, double lastLoss, double smoothedLoss, double stepsPerSecond) {}

  private final Map<String, MutableTask> tasks = new LinkedHashMap<>();
  private String jobId = "";
  private long maxSteps;
  private long steps;
  private long lastSequence;
  private long incarnation;
  private long missedEvents;
  private long rewinds;
  private Instant startedAt;
  private Instant latestAt;
  private List<Evaluation> evaluations = List.of();
  private JobFinished finished;

  /**
   * Takes what the server already knows from a status, for a watch that starts part-way through
   * the log: the step budget, task order, and (when {@code includeProgress}) the steps and losses
   * of the events that will not be replayed.
   */
  public void seed(JobStatus status, boolean includeProgress) {
    jobId = status.getJobId();
    maxSteps = status.getMaxSteps();
    for (TaskProgress progress : status.getTasksList()) {
      MutableTask task = task(progress.getTask());
      if (includeProgress) {
        task.steps = progress.getSteps();
        task.lastLoss = progress.getLastLoss();
        task.smoothedLoss = progress.getSmoothedLoss();
      }
    }
    if (includeProgress) {
      steps = status.getStepsDone();
      lastSequence = status.getLastSequence();
      evaluations = status.getEvaluationsList();
    }
  }

  /**
   * Folds one event in. Events at or below the latest sequence seen are ignored (replays), except
   * a {@code log_rewound}: the job resumed from a checkpoint since this watcher's events, so the
   * sequence goes back to the point it names and the re-sent events that follow count again.
   */
  public void apply(TrainingEvent event) {
    if (event.hasLogRewound()) {
      lastSequence = event.getLogRewound().getRewoundTo();
      incarnation = event.getIncarnation();
      rewinds++;
      return;
    }
    if (event.getSequence() <= lastSequence && !event.hasEventsMissed()) {
      return;
    }
    lastSequence = Math.max(lastSequence, event.getSequence());
    incarnation = event.getIncarnation();
    jobId = event.getJobId().isEmpty() ? jobId : event.getJobId();
    Instant at = event.hasTime() ? toInstant(event.getTime()) : null;
    if (at != null) {
      latestAt = latestAt == null || at.isAfter(latestAt) ? at : latestAt;
      if (startedAt == null) {
        startedAt = at;
      }
    }
    switch (event.getKindCase()) {
      case JOB_STARTED -> {
        maxSteps = event.getJobStarted().getMaxSteps();
        startedAt = at != null ? at : startedAt;
        for (TaskPlacement placement : event.getJobStarted().getPlacementsList()) {
          task(placement.getTask());
        }
      }
      case STEP_COMPLETED -> onStep(event.getStepCompleted(), at);
      case EVALUATION_COMPLETED -> evaluations = event.getEvaluationCompleted().getEvaluationsList();
      case JOB_FINISHED -> {
        finished = event.getJobFinished();
        steps = Math.max(steps, finished.getSteps());
      }
      case EVENTS_MISSED -> missedEvents +=
          event.getEventsMissed().getLastMissed() - event.getEventsMissed().getFirstMissed() + 1;
      // The checkpoint's step count is the truth from here on; steps after it run again.
      case JOB_RESUMED -> steps = event.getJobResumed().getFromStep();
      case KIND_NOT_SET -> {
        // A kind newer than this client: nothing to show, but its sequence still counts.
      }
    }
  }

  private void onStep(StepCompleted step, Instant at) {
    MutableTask task = task(step.getTask());
    task.smoothedLoss = task.steps == 0
        ? step.getLoss()
        : (1 - SMOOTHING) * task.smoothedLoss + SMOOTHING * step.getLoss();
    task.steps++;
    task.lastLoss = step.getLoss();
    task.lastStepAt = at;
    // A count, not the step number: steps may complete out of dispatch order.
    steps++;
  }

  /** Per task, in the order the job placed them (else first seen). */
  public List<TaskStats> tasks() {
    List<TaskStats> out = new ArrayList<>(tasks.size());
    for (MutableTask t : tasks.values()) {
      out.add(new TaskStats(t.name, t.steps, t.lastLoss, t.smoothedLoss, stepsPerSecond(t)));
    }
    return out;
  }

  private double stepsPerSecond(MutableTask task) {
    if (startedAt == null || task.lastStepAt == null) {
      return 0;
    }
    double seconds = Duration.between(startedAt, task.lastStepAt).toNanos() / 1e9;
    return seconds > 0 ? task.steps / seconds : 0;
  }

  public String jobId() {
    return jobId;
  }

  /** Steps done over all tasks. */
  public long steps() {
    return steps;
  }

  /** The job's step budget; 0 until known. */
  public long maxSteps() {
    return maxSteps;
  }

  /** Steps done over the budget, in [0, 1]; 0 while the budget is unknown. */
  public double progress() {
    return maxSteps <= 0 ? 0 : Math.min(1.0, (double) steps / maxSteps);
  }

  /** From the first event seen (the job's start, when the log is replayed) to the latest. */
  public Duration elapsed() {
    return startedAt == null || latestAt == null ? Duration.ZERO : Duration.between(startedAt, latestAt);
  }

  public long lastSequence() {
    return lastSequence;
  }

  /**
   * Incarnation of the latest event (TrainingEvent.incarnation): with {@link #lastSequence()},
   * where to resume the stream.
   */
  public long incarnation() {
    return incarnation;
  }

  /** How often the server said the log was rewound past this watcher's events. */
  public long rewinds() {
    return rewinds;
  }

  /** Events the server skipped because this watcher fell behind. */
  public long missedEvents() {
    return missedEvents;
  }

  /** The latest evaluation's metrics; empty until one completed. */
  public List<Evaluation> evaluations() {
    return evaluations;
  }

  /** The job's end, once its {@code JobFinished} event arrived. */
  public Optional<JobFinished> finished() {
    return Optional.ofNullable(finished);
  }

  private MutableTask task(String name) {
    return tasks.computeIfAbsent(name, MutableTask::new);
  }

  private static Instant toInstant(Timestamp t) {
    return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
  }

  private static final class MutableTask {
    final String name;
    long steps;
    double lastLoss;
    double smoothedLoss;
    Instant lastStepAt;

    MutableTask(String name) {
      this.name = name;
    }
  }
}
