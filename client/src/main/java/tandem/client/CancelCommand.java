package tandem.client;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import tandem.api.v1.JobStatus;

/** {@code tandem cancel JOB}: stops a running job. */
@Command(name = "cancel", mixinStandardHelpOptions = true, description = "Stop a running job.")
final class CancelCommand extends RemoteCommand {

  @Parameters(index = "0", paramLabel = "JOB", description = "The job id.")
  String jobId;

  @Override
  protected int run(TandemClient client) {
    JobStatus status = client.cancel(jobId);
    out().printf("job %s %s at step %d%n", status.getJobId(),
        LiveView.stateName(status.getState()), status.getStepsDone());
    return ExitCodes.OK;
  }
}
