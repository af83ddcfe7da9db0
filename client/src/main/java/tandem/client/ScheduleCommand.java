package tandem.client;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tandem.api.v1.JobStatus;
import tandem.api.v1.ScheduleSpec;

/** {@code tandem schedule JOB --policy P [--weight TASK=W]… [--temperature T]}. */
@Command(name = "schedule", mixinStandardHelpOptions = true,
    description = "Change a running job's schedule (policy, weights) from its next step on.")
final class ScheduleCommand extends RemoteCommand {

  @Parameters(index = "0", paramLabel = "JOB", description = "The job id.")
  String jobId;

  @Option(names = "--policy", required = true,
      description = "round_robin, random, proportional, temperature or weighted.")
  String policy;

  @Option(names = "--weight", paramLabel = "TASK=W",
      description = "A task's weight under the weighted policy; repeat for each task.")
  Map<String, Double> weights = new LinkedHashMap<>();

  @Option(names = "--temperature", description = "T for the temperature policy (default 1).")
  double temperature;

  @Override
  protected int run(TandemClient client) {
    JobStatus status = client.updateSchedule(jobId, ScheduleSpec.newBuilder().setPolicy(policy)
        .putAllWeights(weights).setTemperature(temperature).build());
    out().printf(Locale.ROOT, "job %s: schedule now %s (%d steps done so far)%n",
        status.getJobId(), status.getSchedule().getPolicy(), status.getStepsDone());
    return ExitCodes.OK;
  }
}
