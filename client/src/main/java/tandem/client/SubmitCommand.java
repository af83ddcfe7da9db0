package tandem.client;

import com.google.protobuf.StringValue;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tandem.api.v1.JobSpec;

/** {@code tandem submit SPEC.json}: starts a job and prints its id; optionally follows it. */
@Command(name = "submit", mixinStandardHelpOptions = true,
    description = "Submit a job spec (JSON, Protobuf JSON mapping) and print the job id.")
final class SubmitCommand extends RemoteCommand {

  @Parameters(index = "0", paramLabel = "SPEC.json", description = "The job spec file.")
  Path specFile;

  @Option(names = "--watch", description = "Follow the job until it ends; exit 1 unless it succeeded.")
  boolean watch;

  @Option(names = "--json", description = "Print JSON (the id as {\"jobId\":...}; events as JSON lines).")
  boolean json;

  @Override
  protected int run(TandemClient client) throws JobSpecException {
    // Read before the first call, so a bad file is reported without needing a server.
    JobSpec spec = JobSpecs.read(specFile);
    String jobId = client.submit(spec);
    if (json) {
      out().println("{\"jobId\":" + JsonView.json(StringValue.of(jobId)) + "}");
    } else {
      out().println(jobId);
    }
    out().flush();
    return watch ? follow(client, jobId, 0, json) : ExitCodes.OK;
  }
}
