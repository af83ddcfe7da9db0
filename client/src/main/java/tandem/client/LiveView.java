package tandem.client;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.LongSupplier;
import tandem.api.v1.Evaluation;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobState;
import tandem.api.v1.JobStatus;
import tandem.api.v1.TrainingEvent;
import tandem.client.WatchState.TaskStats;

/**
 * The human view of a running job: one line per task (steps, latest and smoothed loss, steps/s)
 * and a progress bar. On a terminal it redraws in place with ANSI escapes, at most once per
 * redraw interval so that a fast job does not flood the terminal; elsewhere (a pipe, a log file)
 * it prints a plain progress line every so often instead. At the end it prints the job's summary
 * and its evaluations. Confined to the thread that feeds it.
 */
final class LiveView implements EventView {

  private static final int BAR_WIDTH = 30;

  private final PrintWriter out;
  private final boolean ansi;
  private final Duration interval;
  private final LongSupplier nanoTime;
  private long lastDrawNanos;
  private boolean drawnOnce;
  private int drawnLines;

  /** {@code ansi}: redraw in place every {@code interval}; otherwise a plain line every {@code interval}. */
  LiveView(PrintWriter out, boolean ansi, Duration interval) {
    this(out, ansi, interval, System::nanoTime);
  }

  LiveView(PrintWriter out, boolean ansi, Duration interval, LongSupplier nanoTime) {
    this.out = out;
    this.ansi = ansi;
    this.interval = interval;
    this.nanoTime = nanoTime;
  }

  /** The view for this process's stdout: ANSI at ~5 redraws/s on a terminal, else a line per 10 s. */
  static LiveView forConsole(PrintWriter out) {
    boolean terminal = System.console() != null;
    return new LiveView(out, terminal, terminal ? Duration.ofMillis(200) : Duration.ofSeconds(10));
  }

  @Override
  public void onEvent(TrainingEvent event, WatchState state) {
    if (event.hasJobStarted()) {
      out.printf("job %s started: %d tasks on %d workers, %d steps%n", state.jobId(),
          event.getJobStarted().getPlacementsCount(), event.getJobStarted().getWorkers(),
          state.maxSteps());
      out.flush();
      drawnLines = 0;
      return;
    }
    if (event.hasLogRewound()) {
      out.printf("job %s was resumed from a checkpoint: the events after %d you saw were replaced;"
          + " following it again from event %d%n", state.jobId(),
          event.getLogRewound().getRewoundTo(), event.getLogRewound().getRewoundTo() + 1);
      out.flush();
      drawnLines = 0;
      return;
    }
    long now = nanoTime.getAsLong();
    boolean due = !drawnOnce || now - lastDrawNanos >= interval.toNanos();
    if (due && !event.hasJobFinished()) {
      draw(state);
      lastDrawNanos = now;
      drawnOnce = true;
    }
  }

  @Override
  public void onEnd(WatchState state, JobStatus status) {
    // One last frame so the numbers on screen are the final ones.
    draw(state);
    JobFinished finished = state.finished().orElse(JobFinished.getDefaultInstance());
    out.printf(Locale.ROOT, "job %s %s: %d steps in %s, %.0f examples/s%n", status.getJobId(),
        stateName(finished.getState()), finished.getSteps(),
        formatDuration(Duration.ofSeconds(finished.getElapsed().getSeconds(),
            finished.getElapsed().getNanos())),
        finished.getExamplesPerSecond());
    if (!finished.getMessage().isEmpty()) {
      out.println("  " + finished.getMessage());
    }
    if (state.missedEvents() > 0) {
      out.printf("  (%d events were skipped because this view fell behind)%n", state.missedEvents());
    }
    if (!status.getEvaluationsList().isEmpty()) {
      out.print(evaluationTable(status.getEvaluationsList()));
    }
    out.flush();
  }

  private void draw(WatchState state) {
    List<String> lines = ansi ? frame(state) : List.of(plainLine(state));
    if (ansi && drawnLines > 0) {
      // Move to the start of the first line of the previous frame and overwrite it.
      out.print("\033[" + drawnLines + "F");
    }
    for (String line : lines) {
      out.print(ansi ? "\033[2K" + line + "\n" : line + "\n");
    }
    out.flush();
    drawnLines = ansi ? lines.size() : 0;
  }

  /** The task table and progress bar, without escapes. */
  static List<String> frame(WatchState state) {
    List<TaskStats> tasks = state.tasks();
    int width = Math.max(4, tasks.stream().mapToInt(t -> t.task().length()).max().orElse(4));
    List<String> lines = new ArrayList<>();
    lines.add(String.format(Locale.ROOT, "%-" + width + "s %8s %10s %10s %9s",
        "task", "steps", "loss", "smoothed", "steps/s"));
    for (TaskStats t : tasks) {
      lines.add(String.format(Locale.ROOT, "%-" + width + "s %8d %10.4f %10.4f %9.1f",
          t.task(), t.steps(), t.lastLoss(), t.smoothedLoss(), t.stepsPerSecond()));
    }
    lines.add(progressLine(state));
    return lines;
  }

  static String progressLine(WatchState state) {
    int filled = (int) Math.round(state.progress() * BAR_WIDTH);
    return String.format(Locale.ROOT, "[%s%s] %3.0f%%  %d/%d steps  %s elapsed",
        "#".repeat(filled), ".".repeat(BAR_WIDTH - filled), state.progress() * 100,
        state.steps(), state.maxSteps(), formatDuration(state.elapsed()));
  }

  static String plainLine(WatchState state) {
    StringBuilder line = new StringBuilder(String.format(Locale.ROOT,
        "step %d/%d (%.0f%%) %s elapsed", state.steps(), state.maxSteps(), state.progress() * 100,
        formatDuration(state.elapsed())));
    for (TaskStats t : state.tasks()) {
      line.append(t.steps() == 0 ? String.format(Locale.ROOT, " | %s loss -", t.task())
          : String.format(Locale.ROOT, " | %s loss %.4f", t.task(), t.smoothedLoss()));
    }
    return line.toString();
  }

  /** Accuracy (or mse) per task and output, one row each. */
  static String evaluationTable(List<Evaluation> evaluations) {
    int taskWidth = Math.max(4, evaluations.stream().mapToInt(e -> e.getTask().length()).max().orElse(4));
    int outWidth = Math.max(6, evaluations.stream().mapToInt(e -> e.getOutput().length()).max().orElse(6));
    StringBuilder table = new StringBuilder(String.format(Locale.ROOT,
        "%-" + taskWidth + "s  %-" + outWidth + "s  %-8s  %9s  %8s%n",
        "task", "output", "metric", "value", "examples"));
    for (Evaluation e : evaluations) {
      String value = e.getMetric().equals("accuracy")
          ? String.format(Locale.ROOT, "%8.2f%%", e.getValue() * 100)
          : String.format(Locale.ROOT, "%9.5f", e.getValue());
      table.append(String.format(Locale.ROOT, "%-" + taskWidth + "s  %-" + outWidth + "s  %-8s  %9s  %8d%n",
          e.getTask(), e.getOutput(), e.getMetric(), value, e.getExamples()));
    }
    return table.toString();
  }

  /** SUCCEEDED rather than JOB_STATE_SUCCEEDED. */
  static String stateName(JobState state) {
    return state.name().replaceFirst("^JOB_STATE_", "");
  }

  static String formatDuration(Duration d) {
    long seconds = d.getSeconds();
    return seconds >= 3600
        ? String.format(Locale.ROOT, "%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
        : String.format(Locale.ROOT, "%d:%02d", seconds / 60, seconds % 60);
  }
}
