package tandem.client;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tandem.api.v1.JobStatus;
import tandem.api.v1.ListJobsResponse;

/** {@code tandem jobs}: lists the server's jobs, newest first. */
@Command(name = "jobs", mixinStandardHelpOptions = true, description = "List the server's jobs, newest first.")
final class JobsCommand extends RemoteCommand {

  @Option(names = "--json", description = "Print {\"jobs\":[...]} in Protobuf's JSON mapping.")
  boolean json;

  @Override
  protected int run(TandemClient client) {
    List<JobStatus> jobs = client.jobs(false);
    if (json) {
      out().println(JsonView.json(ListJobsResponse.newBuilder().addAllJobs(jobs)));
      return ExitCodes.OK;
    }
    if (jobs.isEmpty()) {
      out().println("no jobs");
      return ExitCodes.OK;
    }
    int idWidth = Math.max(6, jobs.stream().mapToInt(j -> j.getJobId().length()).max().orElse(6));
    int nameWidth = Math.max(4, jobs.stream().mapToInt(j -> j.getName().length()).max().orElse(4));
    String format = "%-" + idWidth + "s  %-" + nameWidth + "s  %-9s  %15s  %8s%n";
    out().printf(Locale.ROOT, format, "job", "name", "state", "steps", "elapsed");
    for (JobStatus job : jobs) {
      Duration elapsed = Duration.ofSeconds(job.getElapsed().getSeconds(), job.getElapsed().getNanos());
      out().printf(Locale.ROOT, format, job.getJobId(), job.getName(),
          LiveView.stateName(job.getState()), job.getStepsDone() + "/" + job.getMaxSteps(),
          LiveView.formatDuration(elapsed));
    }
    return ExitCodes.OK;
  }
}
