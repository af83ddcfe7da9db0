package tandem.orchestrator.job;

import static tandem.orchestrator.job.ProtoTime.instant;
import static tandem.orchestrator.job.ProtoTime.timestamp;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tandem.api.v1.Evaluation;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobState;
import tandem.api.v1.JobStatus;
import tandem.api.v1.ScheduleSpec;
import tandem.api.v1.StepCompleted;
import tandem.api.v1.TaskPlacement;
import tandem.api.v1.TaskProgress;
import tandem.api.v1.TrainingEvent;

/**
 * A job's status folded from its events, so the status can never disagree with the log.
 * Confined to the {@link EventLog} that owns it (called under its lock).
 */
final class JobProgress {

  /** Weight of the newest step in the smoothed loss. */
  static final double SMOOTHING = 0.1;

  private final String jobId;
  private final String name;
  private final Instant submittedAt;
  /** Staleness values above this share the histogram's last bucket. */
  static final int STALENESS_BUCKETS = 64;

  private final Map<String, TaskProgress.Builder> tasks = new LinkedHashMap<>();
  private final Map<String, LossCurve> curves = new LinkedHashMap<>();
  private final long[] staleness = new long[STALENESS_BUCKETS + 1];
  private int largestStaleness = -1;
  private ScheduleSpec schedule = ScheduleSpec.getDefaultInstance();
  private JobState state = JobState.JOB_STATE_PENDING;
  private long stepsDone;
  private long maxSteps;
  private long examples;
  /** When the current run started (null while not running). */
  private Instant startedAt;
  /** When the job first started, whatever resumes came after. */
  private Instant firstStartedAt;
  private Duration elapsed = Duration.ZERO;
  private List<Evaluation> evaluations = List.of();
  private tandem.api.v1.ForgettingReport forgetting;
  private String error = "";

  JobProgress(String jobId, String name, Instant submittedAt) {
    this.jobId = jobId;
    this.name = name;
    this.submittedAt = submittedAt;
  }

  void apply(TrainingEvent event, Instant now) {
    switch (event.getKindCase()) {
      case JOB_STARTED -> {
        state = JobState.JOB_STATE_RUNNING;
        startedAt = now;
        if (firstStartedAt == null) {
          firstStartedAt = now;
        }
        maxSteps = event.getJobStarted().getMaxSteps();
        schedule = event.getJobStarted().getSchedule();
        for (TaskPlacement placement : event.getJobStarted().getPlacementsList()) {
          tasks.put(placement.getTask(), TaskProgress.newBuilder().setTask(placement.getTask())
              .setWorker(placement.getWorker()));
        }
      }
      case STEP_COMPLETED -> {
        StepCompleted step = event.getStepCompleted();
        stepsDone++;
        examples += step.getExamples();
        TaskProgress.Builder task = tasks.computeIfAbsent(step.getTask(),
            t -> TaskProgress.newBuilder().setTask(t));
        task.setSmoothedLoss(task.getSteps() == 0 ? step.getLoss()
            : (1 - SMOOTHING) * task.getSmoothedLoss() + SMOOTHING * step.getLoss());
        task.setSteps(task.getSteps() + 1).setExamples(task.getExamples() + step.getExamples())
            .setLastLoss(step.getLoss()).setWorker(step.getWorker());
        if (step.getGradientDropped()) {
          task.setDroppedGradients(task.getDroppedGradients() + 1);
        }
        curves.computeIfAbsent(step.getTask(), t -> new LossCurve())
            .add(step.getStep(), step.getLoss());
        int bucket = (int) Math.min(step.getStaleness(), STALENESS_BUCKETS);
        staleness[bucket]++;
        largestStaleness = Math.max(largestStaleness, bucket);
      }
      case SCHEDULE_UPDATED -> schedule = event.getScheduleUpdated().getSchedule();
      case JOB_RESUMED -> {
        state = JobState.JOB_STATE_RUNNING;
        startedAt = now;
        error = "";
        event.getJobResumed().getPlacementsList().forEach(this::place);
      }
      case TASKS_MOVED -> event.getTasksMoved().getPlacementsList().forEach(this::place);
      case EVALUATION_COMPLETED -> evaluations = event.getEvaluationCompleted().getEvaluationsList();
      case FORGETTING_REPORT -> forgetting = event.getForgettingReport();
      case JOB_FINISHED -> {
        JobFinished finished = event.getJobFinished();
        state = finished.getState();
        if (state == JobState.JOB_STATE_FAILED) {
          error = finished.getMessage();
        }
        elapsed = elapsedAt(now);
        startedAt = null;
      }
      default -> { }
    }
  }

  private void place(TaskPlacement placement) {
    tasks.computeIfAbsent(placement.getTask(), t -> TaskProgress.newBuilder().setTask(t))
        .setWorker(placement.getWorker());
  }

  Instant submittedAt() {
    return submittedAt;
  }

  /** The job's state as of the latest event. */
  JobState state() {
    return state;
  }

  JobStatus toStatus(long lastSequence, Instant now) {
    return toStatus(lastSequence, now, true);
  }

  /** The status; without the tasks' loss curves unless {@code withCurves} (the costly part). */
  JobStatus toStatus(long lastSequence, Instant now, boolean withCurves) {
    Duration running = startedAt == null ? elapsed : elapsedAt(now);
    double seconds = running.toNanos() / 1e9;
    JobStatus.Builder status = JobStatus.newBuilder()
        .setJobId(jobId)
        .setName(name)
        .setState(state)
        .setStepsDone(stepsDone)
        .setMaxSteps(maxSteps)
        .addAllEvaluations(evaluations)
        .setError(error)
        .setSubmittedAt(timestamp(submittedAt))
        .setElapsed(com.google.protobuf.Duration.newBuilder().setSeconds(running.getSeconds())
            .setNanos(running.getNano()))
        .setLastSequence(lastSequence)
        .setExamplesPerSecond(seconds > 0 ? examples / seconds : 0)
        .setStepsPerSecond(seconds > 0 ? stepsDone / seconds : 0)
        .setSchedule(schedule);
    if (forgetting != null) {
      status.setForgetting(forgetting);
    }
    if (firstStartedAt != null) {
      status.setStartedAt(timestamp(firstStartedAt));
    }
    for (int i = 0; i <= largestStaleness; i++) {
      status.addStalenessHistogram(staleness[i]);
    }
    tasks.forEach((name, task) -> {
      LossCurve curve = curves.get(name);
      status.addTasks(curve == null || !withCurves ? task.build()
          : task.clone().clearLossCurve().addAllLossCurve(curve.points()).build());
    });
    return status.build();
  }

  /** Everything this progress folded so far, as a checkpoint keeps it ({@link #restore}). */
  tandem.api.v1.JobProgressState snapshot() {
    tandem.api.v1.JobProgressState.Builder state = tandem.api.v1.JobProgressState.newBuilder()
        .setSchedule(schedule).setState(this.state).setStepsDone(stepsDone)
        .setMaxSteps(maxSteps).setExamples(examples).setElapsed(duration(elapsed))
        .addAllEvaluations(evaluations).setError(error);
    tasks.values().forEach(task -> state.addTasks(task.build()));
    curves.forEach((task, curve) -> state.addCurves(curve.snapshot(task)));
    for (int i = 0; i <= largestStaleness; i++) {
      state.addStaleness(staleness[i]);
    }
    if (startedAt != null) {
      state.setStartedAt(timestamp(startedAt));
    }
    if (firstStartedAt != null) {
      state.setFirstStartedAt(timestamp(firstStartedAt));
    }
    if (forgetting != null) {
      state.setForgetting(forgetting);
    }
    return state.build();
  }

  /** The progress {@link #snapshot} kept, going on from there. */
  static JobProgress restore(String jobId, String name, Instant submittedAt,
      tandem.api.v1.JobProgressState state) {
    JobProgress progress = new JobProgress(jobId, name, submittedAt);
    state.getTasksList().forEach(task -> progress.tasks.put(task.getTask(), task.toBuilder()));
    state.getCurvesList().forEach(curve ->
        progress.curves.put(curve.getTask(), LossCurve.restore(curve)));
    for (int i = 0; i < state.getStalenessCount() && i <= STALENESS_BUCKETS; i++) {
      progress.staleness[i] = state.getStaleness(i);
      progress.largestStaleness = i;
    }
    progress.schedule = state.getSchedule();
    progress.state = state.getState();
    progress.stepsDone = state.getStepsDone();
    progress.maxSteps = state.getMaxSteps();
    progress.examples = state.getExamples();
    progress.startedAt = state.hasStartedAt() ? instant(state.getStartedAt()) : null;
    progress.firstStartedAt = state.hasFirstStartedAt() ? instant(state.getFirstStartedAt())
        : null;
    progress.elapsed = Duration.ofSeconds(state.getElapsed().getSeconds(),
        state.getElapsed().getNanos());
    progress.evaluations = List.copyOf(state.getEvaluationsList());
    progress.forgetting = state.hasForgetting() ? state.getForgetting() : null;
    progress.error = state.getError();
    return progress;
  }

  private static com.google.protobuf.Duration duration(Duration duration) {
    return com.google.protobuf.Duration.newBuilder().setSeconds(duration.getSeconds())
        .setNanos(duration.getNano()).build();
  }

  private Duration elapsedAt(Instant now) {
    return startedAt == null ? elapsed : elapsed.plus(Duration.between(startedAt, now));
  }
}
