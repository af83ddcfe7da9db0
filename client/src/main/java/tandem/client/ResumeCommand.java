package tandem.client;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import tandem.api.v1.JobStatus;

/** {@code tandem resume JOB}: restarts an unfinished job from its latest checkpoint. */
@Command(name = "resume", mixinStandardHelpOptions = true,
    description = "Restart an unfinished (failed or interrupted) job from its latest checkpoint.")
final class ResumeCommand extends RemoteCommand {

  @Parameters(index = "0", paramLabel = "JOB", description = "The job id.")
  String jobId;

  @Override
  protected int run(TandemClient client) {
    JobStatus status = client.resume(jobId);
    out().printf("job %s %s from step %d%n", status.getJobId(),
        LiveView.stateName(status.getState()), status.getStepsDone());
    return ExitCodes.OK;
  }
}
