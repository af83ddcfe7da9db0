package tandem.client;

import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tandem.api.v1.ExportModelRequest;

/** {@code tandem export JOB|MODEL --out FILE}: saves a trained model's bundle on this machine. */
@Command(name = "export", mixinStandardHelpOptions = true,
    description = "Save the model bundle of a succeeded job (or a served model) to a file.")
final class ExportCommand extends RemoteCommand {

  @Parameters(index = "0", paramLabel = "JOB|MODEL",
      description = "A job id (job-0001) or the name of a served model.")
  String reference;

  @Option(names = "--out", required = true, paramLabel = "FILE",
      description = "Bundle file to write (replaced atomically).")
  Path out;

  @Override
  protected int run(TandemClient client) throws Exception {
    ExportModelRequest.Builder request = ExportModelRequest.newBuilder();
    if (ModelRefs.isJob(reference)) {
      request.setJobId(reference);
    } else {
      request.setModel(reference);
    }
    long bytes = client.exportModel(request.build(), out);
    out().println("wrote " + out + " (" + bytes + " bytes)");
    return ExitCodes.OK;
  }
}
