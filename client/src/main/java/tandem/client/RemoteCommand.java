package tandem.client;

import io.grpc.ManagedChannel;
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
 * Base of the subcommands that talk to a running server: owns the {@code --server}, token and TLS
 * options and the channel's lifetime, and turns gRPC failures into a message and exit code 2. Each instance runs
 * once, on the command line's thread.
 */
abstract class RemoteCommand implements Callable<Integer> {

  @Option(names = "--server", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:50051",
      description = "Address of the Tandem server (default: ${DEFAULT-VALUE}).")
  String server;

  @Option(names = "--token", paramLabel = "TOKEN", defaultValue = "${env:TANDEM_TOKEN}",
      description = "Bearer token the server requires (default: $TANDEM_TOKEN).")
  String token;

  @Option(names = "--tls", description = "Connect with TLS, trusting the system's CAs.")
  boolean tls;

  @Option(names = "--tls-ca", paramLabel = "FILE",
      description = "Connect with TLS, trusting the CA certificates in FILE (PEM).")
  java.nio.file.Path tlsCa;

  @Option(names = "--tls-cert", paramLabel = "FILE",
      description = "Client certificate chain (PEM), for servers that require one.")
  java.nio.file.Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "FILE", description = "Key of --tls-cert (PEM).")
  java.nio.file.Path tlsKey;

  @Spec
  CommandSpec spec;

  @Override
  public final Integer call() throws Exception {
    ManagedChannel channel = ClientChannels.open(server, tls, tlsCa, tlsCert, tlsKey);
    try {
      return run(new TandemClient(ClientChannels.withToken(channel, token)));
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
    return follow(client, jobId, afterSequence, 0, json);
  }

  /** As above, from after event {@code afterSequence} of incarnation {@code incarnation}. */
  int follow(TandemClient client, String jobId, long afterSequence, long incarnation,
      boolean json) {
    EventView view = json ? new JsonView(out()) : LiveView.forConsole(out());
    WatchSession session = new WatchSession(client, view);
    session.follow(jobId, afterSequence, incarnation);
    // The stream's JobFinished is the job's verdict; the status fetched after it adds evaluations.
    return session.state().finished().map(JobFinished::getState).orElse(JobState.JOB_STATE_UNSPECIFIED)
        == JobState.JOB_STATE_SUCCEEDED
        ? ExitCodes.OK
        : ExitCodes.JOB_FAILED;
  }
}
