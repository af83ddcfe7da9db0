package tandem.client;

import java.time.Duration;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tandem.api.v1.JobStatus;
import tandem.api.v1.TaskProgress;

/** {@code tandem status JOB}: one job's state, per-task progress and evaluations. */
@Command(name = "status", mixinStandardHelpOptions = true,
    description = "Show a job's state, per-task progress and evaluations.")
final class StatusCommand extends RemoteCommand {

  @Parameters(index = "0", paramLabel = "JOB", description = "The job id.")
  String jobId;

  @Option(names = "--json", description = "Print the JobStatus in Protobuf's JSON mapping.")
  boolean json;

  @Override
  protected int run(TandemClient client) {
    JobStatus job = client.job(jobId);
    if (json) {
      out().println(JsonView.json(job));
      return ExitCodes.OK;
    }
    Duration elapsed = Duration.ofSeconds(job.getElapsed().getSeconds(), job.getElapsed().getNanos());
    out().printf(Locale.ROOT, "job %s (%s): %s, %d/%d steps, %s elapsed, %.0f examples/s, %.1f"
            + " steps/s, schedule %s%n",
        job.getJobId(), job.getName(), LiveView.stateName(job.getState()), job.getStepsDone(),
        job.getMaxSteps(), LiveView.formatDuration(elapsed), job.getExamplesPerSecond(),
        job.getStepsPerSecond(), job.getSchedule().getPolicy());
    if (!job.getError().isEmpty()) {
      out().println("error: " + job.getError());
    }
    if (job.getTasksCount() > 0) {
      int width = Math.max(4, job.getTasksList().stream().mapToInt(t -> t.getTask().length()).max().orElse(4));
      String format = "%-" + width + "s %8s %10s %10s %10s  %s%n";
      out().printf(Locale.ROOT, format, "task", "steps", "loss", "smoothed", "first loss",
          "worker");
      for (TaskProgress t : job.getTasksList()) {
        out().printf(Locale.ROOT, format, t.getTask(), t.getSteps(),
            String.format(Locale.ROOT, "%.4f", t.getLastLoss()),
            String.format(Locale.ROOT, "%.4f", t.getSmoothedLoss()),
            t.getLossCurveCount() == 0 ? "-"
                : String.format(Locale.ROOT, "%.4f", t.getLossCurve(0).getLoss()),
            t.getWorker());
      }
    }
    if (job.getStalenessHistogramCount() > 0) {
      StringBuilder histogram = new StringBuilder("staleness (versions: steps):");
      for (int i = 0; i < job.getStalenessHistogramCount(); i++) {
        if (job.getStalenessHistogram(i) > 0) {
          histogram.append(' ').append(i).append(": ").append(job.getStalenessHistogram(i));
        }
      }
      out().println(histogram);
    }
    if (job.getEvaluationsCount() > 0) {
      out().print(LiveView.evaluationTable(job.getEvaluationsList()));
    }
    return ExitCodes.OK;
  }
}
