package tandem.client;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import tandem.api.v1.JobState;
import tandem.api.v1.JobFinished;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Base of the subcommands that talk to a running server: owns the {@code --server} option and the
 * channel's lifetime, and turns gRPC failures into a message and exit code 2. Each instance runs
 * once, on the command line's thread.
 */
abstract class RemoteCommand implements Callable<Integer> {

  @Option(names = "--server", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:50051",
      description = "Address of the Tandem server (default: ${DEFAULT-VALUE}).")
  String server;

  @Spec
  CommandSpec spec;

  @Override
  public final Integer call() throws Exception {
    ManagedChannel channel = ManagedChannelBuilder.forTarget(server).usePlaintext().build();
    try {
      return run(new TandemClient(channel));
    } catch (StatusRuntimeException e) {
      err().println("tandem: " + ServerErrors.describe(e, server));
      return ExitCodes.USAGE;
    } finally {
      // The channel is ours; an open stream is simply cut.
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** The command's work; returns its exit code. Channels are lazy, so nothing is sent before the first call. */
  protected abstract int run(TandemClient client) throws Exception;

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  PrintWriter err() {
    return spec.commandLine().getErr();
  }

  /** Follows a job to its end with the chosen view; exit code 0 only if it succeeded. */
  int follow(TandemClient client, String jobId, long afterSequence, boolean json) {
    EventView view = json ? new JsonView(out()) : LiveView.forConsole(out());
    WatchSession session = new WatchSession(client, view);
    session.follow(jobId, afterSequence);
    // The stream's JobFinished is the job's verdict; the status fetched after it adds evaluations.
    return session.state().finished().map(JobFinished::getState).orElse(JobState.JOB_STATE_UNSPECIFIED)
        == JobState.JOB_STATE_SUCCEEDED
        ? ExitCodes.OK
        : ExitCodes.JOB_FAILED;
  }
}
