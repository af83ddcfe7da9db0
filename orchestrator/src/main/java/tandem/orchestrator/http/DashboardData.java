package tandem.orchestrator.http;

import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.util.RawValue;
import com.google.protobuf.util.Timestamps;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import tandem.api.v1.JobStatus;
import tandem.api.v1.TaskSpec;
import tandem.api.v1.TrainingEvent;
import tandem.model.train.LruCache;
import tandem.orchestrator.job.EventLog;
import tandem.orchestrator.job.JobRecord;
import tandem.orchestrator.job.JobStore;

/**
 * The dashboard's JSON documents, built from the {@link JobStore}: the jobs list, a job's status,
 * its per-task curves (downsampled by {@link MinMaxBuckets}, smoothed by
 * {@link StepWeightedEma}) with the workers' recent timeline, and the many-task overview (a task × step grid of normalised loss).
 * Reading a job's history is one pass over its event log (an overview's, once per job: later
 * refreshes read on from where the last one stopped); callers run it off the actor system's
 * dispatchers. Thread-safe.
 */
final class DashboardData {

  /** Overview cells: 64 levels of normalised loss, '.' for a column without steps. */
  static final String LEVELS =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/";
  private static final int RECENT_STEPS = 2000;

  /** Jobs whose histories are kept to read on from (the pages open at once, roughly). */
  static final int OVERVIEW_HISTORIES = 16;

  private final JobStore store;
  private final ObjectMapper json = JsonMapper.builder()
      .enable(StreamWriteFeature.USE_FAST_DOUBLE_WRITER).build();
  /**
   * Per job's log (by identity: a resumed job has a new log), the history its overview and
   * curves were last built from; each refresh, and each page's request for the curves of the
   * tasks that came on its screen, reads only the events appended since. Guarded by itself;
   * each history by itself while it is read on and used.
   */
  private final LruCache<EventLog, JobHistory> overviewHistories =
      new LruCache<>(OVERVIEW_HISTORIES);

  DashboardData(JobStore store) {
    this.store = store;
  }

  /** Every job, newest first: what the jobs page lists. */
  String jobs() {
    ArrayNode jobs = json.createArrayNode();
    for (JobRecord record : store.all()) {
      jobs.add(summary(record, record.events().statusWithoutCurves()));
    }
    return jobs.toString();
  }

  /** What the jobs page lists of a job, from its {@code status}. */
  private ObjectNode summary(JobRecord record, JobStatus status) {
    EventLog log = record.events();
    ObjectNode job = json.createObjectNode();
    job.put("id", status.getJobId());
    job.put("name", status.getName());
    job.put("state", stateName(status));
    job.put("stepsDone", status.getStepsDone());
    job.put("maxSteps", status.getMaxSteps());
    job.put("examplesPerSecond", status.getExamplesPerSecond());
    job.put("stepsPerSecond", status.getStepsPerSecond());
    job.put("tasks", record.spec().getTasksCount());
    job.put("submittedAt", Timestamps.toMillis(status.getSubmittedAt()));
    job.put("elapsedSeconds", EventJson.seconds(status.getElapsed()));
    if (status.hasStartedAt()) {
      job.put("startedAt", Timestamps.toMillis(status.getStartedAt()));
    }
    if (log.complete()) {
      List<TrainingEvent> last = log.read(log.lastSequence() - 1, 1).events();
      if (!last.isEmpty()) {
        job.put("finishedAt", (long) JobHistory.millis(last.get(0)));
      }
    }
    job.put("error", status.getError());
    return job;
  }

  /** A job's status without its coarse loss curves (the page draws its own). */
  String status(JobRecord record) {
    return status(record, true).toString();
  }

  /**
   * A job's status without its coarse loss curves; {@code withTasks}: with each task's status
   * and the task names, which are most of a 200-task job's status and which the page's
   * periodic refresh does not need.
   */
  private ObjectNode status(JobRecord record, boolean withTasks) {
    JobStatus status = record.events().statusWithoutCurves();
    ObjectNode job = summary(record, status);
    job.putRawValue("status", new RawValue(
        EventJson.print(withTasks ? status : status.toBuilder().clearTasks().build())));
    if (withTasks) {
      ArrayNode tasks = job.putArray("taskNames");
      record.spec().getTasksList().forEach(task -> tasks.add(task.getName()));
    }
    job.putRawValue("schedule", new RawValue(
        EventJson.print(status.getSchedule())));
    return job;
  }

  /**
   * The curves of {@code tasks} (all when null), each downsampled to at most {@code 2 * points}
   * points, with the smoothed loss at every kept point, computed over every step.
   *
   * @param halfLife the smoothing's half-life in job steps; 0: {@link #autoHalfLife}
   */
  String series(JobRecord record, Collection<String> tasks, int points, double halfLife) {
    return withHistory(record, history -> series(record, history, tasks, points, halfLife));
  }

  private String series(JobRecord record, JobHistory history, Collection<String> tasks,
      int points, double halfLife) {
    double h = halfLife > 0 ? halfLife : autoHalfLife(record);
    ObjectNode out = json.createObjectNode();
    out.put("lastSequence", history.lastSequence());
    out.put("missed", history.missed());
    out.put("halfLife", h);
    ObjectNode curves = out.putObject("tasks");
    for (JobHistory.TaskSeries series : history.tasks().values()) {
      if (tasks == null || tasks.contains(series.task)) {
        curves.set(series.task, curve(series, points, h));
      }
    }
    ArrayNode others = out.putArray("events");
    history.others().forEach(e -> others.addRawValue(
        new RawValue(EventJson.write(e))));
    // The workers' recent timeline, as the live summaries carry it on.
    LiveWindow.Timeline timeline = new LiveWindow.Timeline();
    history.recentSteps().forEach(e ->
        timeline.add(e.getStepCompleted(), (long) JobHistory.millis(e)));
    out.putRawValue("timeline", new RawValue(EventJson.json(1024, timeline::write)));
    return out.toString();
  }

  private ObjectNode curve(JobHistory.TaskSeries series, int points, double halfLife) {
    int n = series.size();
    double[] smooth = new double[n];
    StepWeightedEma ema = new StepWeightedEma(halfLife);
    for (int i = 0; i < n; i++) {
      smooth[i] = ema.add(series.steps[i], series.losses[i]);
    }
    int[] kept = MinMaxBuckets.keep(Arrays.copyOf(series.steps, n),
        Arrays.copyOf(series.losses, n), points);
    ObjectNode curve = json.createObjectNode();
    curve.put("steps", n);
    curve.put("examples", series.examples);
    ArrayNode step = curve.putArray("step");
    ArrayNode time = curve.putArray("time");
    ArrayNode loss = curve.putArray("loss");
    ArrayNode smoothed = curve.putArray("smooth");
    ArrayNode stale = curve.putArray("staleness");
    for (int i : kept) {
      step.add((long) series.steps[i]);
      time.add((long) series.times[i]);
      loss.add(series.losses[i]);
      smoothed.add(smooth[i]);
      stale.add((int) series.staleness[i]);
    }
    if (n > 0) {
      // Where the page continues the average with live steps.
      curve.put("emaStep", series.steps[n - 1]);
      curve.put("emaValue", smooth[n - 1]);
    }
    return curve;
  }

  /**
   * Every task in one grid: {@code columns} equal ranges of the job steps so far, each cell the
   * mean loss of the task's steps there, scaled to the task's own range (one of
   * {@link #LEVELS}); a range without a step of the task repeats the one before (with 200 tasks,
   * a task steps once every 200 job steps), and '.' before its first step. Plus the figures the
   * page sorts by, and the job's status without its tasks' ({@code job}).
   */
  String overview(JobRecord record, int columns) {
    return withHistory(record, history -> overview(record, history, columns));
  }

  /** {@code use} of the job's history, read on to the log's end first, under its lock. */
  private String withHistory(JobRecord record,
      java.util.function.Function<JobHistory, String> use) {
    JobHistory history;
    synchronized (overviewHistories) {
      // Empty here: the first read of a long log happens under the history's lock below, not
      // under the cache's, which every job's requests take.
      history = overviewHistories.computeIfAbsent(record.events(),
          log -> JobHistory.empty(taskNames(record), RECENT_STEPS));
    }
    synchronized (history) {
      history.readOn(record.events());
      return use.apply(history);
    }
  }

  private String overview(JobRecord record, JobHistory history, int columns) {
    // Columns over the steps so far: a running job's map fills its width from the start.
    long maxSteps = Math.max(1, (long) history.tasks().values().stream()
        .mapToDouble(s -> s.size() == 0 ? 0 : s.steps[s.size() - 1]).max().orElse(1));
    ObjectNode out = json.createObjectNode();
    out.put("lastSequence", history.lastSequence());
    out.put("columns", columns);
    out.put("maxSteps", maxSteps);
    ArrayNode rows = out.putArray("tasks");
    double halfLife = autoHalfLife(record);
    for (JobHistory.TaskSeries series : history.tasks().values()) {
      rows.add(overviewRow(series, columns, maxSteps, halfLife));
    }
    // The job's state and progress too, so that an open page refreshes with one request.
    out.set("job", status(record, false));
    return out.toString();
  }

  private ObjectNode overviewRow(JobHistory.TaskSeries series, int columns, long maxSteps,
      double halfLife) {
    double[] sum = new double[columns];
    int[] count = new int[columns];
    StepWeightedEma ema = new StepWeightedEma(halfLife);
    double staleness = 0;
    for (int i = 0; i < series.size(); i++) {
      int column = (int) Math.min(columns - 1, (series.steps[i] - 1) * columns / maxSteps);
      sum[Math.max(0, column)] += series.losses[i];
      count[Math.max(0, column)]++;
      ema.add(series.steps[i], series.losses[i]);
      staleness += series.staleness[i];
    }
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    for (int c = 0; c < columns; c++) {
      if (count[c] > 0 && Double.isFinite(sum[c])) {
        min = Math.min(min, sum[c] / count[c]);
        max = Math.max(max, sum[c] / count[c]);
      }
    }
    StringBuilder cells = new StringBuilder(columns);
    char previous = '.';
    for (int c = 0; c < columns; c++) {
      if (count[c] > 0 && Double.isFinite(sum[c])) {
        double level = max > min ? (sum[c] / count[c] - min) / (max - min) : 0;
        previous = LEVELS.charAt((int) Math.round(level * (LEVELS.length() - 1)));
      }
      cells.append(previous);
    }
    int n = series.size();
    ObjectNode row = json.createObjectNode();
    row.put("task", series.task);
    row.put("steps", n);
    row.put("lastStep", n == 0 ? 0 : (long) series.steps[n - 1]);
    row.put("lastLoss", n == 0 ? Double.NaN : series.losses[n - 1]);
    row.put("smoothed", ema.value());
    row.put("meanStaleness", n == 0 ? 0 : staleness / n);
    row.put("min", Double.isFinite(min) ? min : 0);
    row.put("max", Double.isFinite(max) ? max : 0);
    row.put("cells", cells.toString());
    return row;
  }

  /**
   * The default smoothing: a fiftieth of the steps so far, and at least five rounds of the job's
   * tasks, so that a task stepped once every n job steps still averages a few of its own points.
   * The page asks once and keeps the answer for its life, so that its curves agree.
   */
  static double autoHalfLife(JobRecord record) {
    tandem.api.v1.JobStatus status = record.events().statusWithoutCurves();
    return Math.max(5.0 * Math.max(1, record.spec().getTasksCount()),
        Math.min(status.getMaxSteps(), status.getStepsDone()) / 50.0);
  }

  private static List<String> taskNames(JobRecord record) {
    return record.spec().getTasksList().stream().map(TaskSpec::getName).toList();
  }

  static String stateName(JobStatus status) {
    return status.getState().name().replace("JOB_STATE_", "").toLowerCase(java.util.Locale.ROOT);
  }
}
