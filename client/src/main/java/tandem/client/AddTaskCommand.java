package tandem.client;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tandem.api.v1.AddTaskOptions;
import tandem.api.v1.AddTaskRequest;
import tandem.api.v1.ForgettingReport;
import tandem.api.v1.JobStatus;
import tandem.api.v1.TaskForgetting;

/**
 * {@code tandem add-task MODEL|JOB TASK_SPEC.json}: trains a new task on a trained model. The
 * file is an AddTaskRequest in Protobuf JSON without the model: {@code {"task": {...},
 * "modules": [...], "options": {...}}}; the command's flags override its options.
 */
@Command(name = "add-task", mixinStandardHelpOptions = true,
    description = "Train a new task on a trained model (trunk frozen by default) as a new job; "
        + "with --watch, follow it and print the forgetting report.")
final class AddTaskCommand extends RemoteCommand {

  @Parameters(index = "0", paramLabel = "JOB|MODEL",
      description = "A succeeded job id (job-0001) or the name of a served model.")
  String reference;

  @Parameters(index = "1", paramLabel = "TASK_SPEC.json",
      description = "{\"task\": TaskSpec, \"modules\": [ModuleSpec...], \"options\": {...}}")
  Path file;

  @Option(names = "--steps", paramLabel = "N", description = "Steps of the new job.")
  Long steps;

  @Option(names = "--fine-tune", description = "Train the shared modules the task uses too.")
  boolean fineTune;

  @Option(names = "--rehearsal", paramLabel = "RATE",
      description = "With --fine-tune: fraction of steps spent on the old tasks.")
  Double rehearsal;

  @Option(names = "--trunk-pull", paramLabel = "LAMBDA",
      description = "With --fine-tune: L2 pull of the trunk towards its trained values.")
  Double trunkPull;

  @Option(names = "--watch", description = "Follow the job; exit 1 unless it succeeded.")
  boolean watch;

  @Override
  protected int run(TandemClient client) throws JobSpecException {
    AddTaskRequest.Builder request = read(file);
    if (ModelRefs.isJob(reference)) {
      request.setJobId(reference);
    } else {
      request.setModel(reference);
    }
    AddTaskOptions.Builder options = request.getOptionsBuilder();
    if (steps != null) {
      options.setMaxSteps(steps);
    }
    if (fineTune) {
      options.setTrunk("fine_tune");
    }
    if (rehearsal != null) {
      options.setRehearsalRate(rehearsal);
    }
    if (trunkPull != null) {
      options.setTrunkPull(trunkPull);
    }
    String jobId = client.addTask(request.build());
    out().println(jobId);
    out().flush();
    if (!watch) {
      return ExitCodes.OK;
    }
    int exit = follow(client, jobId, 0, false);
    JobStatus status = client.job(jobId);
    if (status.hasForgetting()) {
      print(status.getForgetting());
    }
    return exit;
  }

  private void print(ForgettingReport report) {
    out().println("forgetting report (added task " + report.getAddedTask() + "):");
    out().printf("  %-16s %-10s %-8s %10s %10s %10s%n", "task", "output", "metric", "before",
        "after", "change");
    for (TaskForgetting task : report.getTasksList()) {
      out().printf("  %-16s %-10s %-8s %10.4f %10.4f %+10.4f%n", task.getTask(), task.getOutput(),
          task.getMetric(), task.getBefore(), task.getAfter(), task.getChange());
    }
  }

  private static AddTaskRequest.Builder read(Path file) throws JobSpecException {
    AddTaskRequest.Builder request = AddTaskRequest.newBuilder();
    try {
      JsonFormat.parser().merge(Files.readString(file, StandardCharsets.UTF_8), request);
    } catch (IOException e) {
      throw new JobSpecException("cannot read task spec " + file + ": " + e.getMessage());
    } catch (RuntimeException e) {
      throw new JobSpecException("invalid task spec " + file + ": " + e.getMessage());
    }
    return request;
  }
}
