package tandem.client;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tandem server}: runs a Tandem server in a child JVM until it exits. */
@Command(name = "server", mixinStandardHelpOptions = true,
    description = "Run a Tandem server with local workers (in a child JVM) until it is stopped.")
final class ServerCommand implements Callable<Integer> {

  @Option(names = "--port", defaultValue = "50051",
      description = "Port to serve on; 0 picks a free one (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--workers", paramLabel = "N", description = "Local workers (default: the server's).")
  Integer workers;

  @Option(names = "--port-file", paramLabel = "FILE",
      description = "Write the bound port to FILE once serving.")
  Path portFile;

  @Override
  public Integer call() throws Exception {
    try (ServerProcess server = ServerProcess.start(ServerProcess.serverArguments(port, workers, portFile), null)) {
      return server.waitFor();
    }
  }
}
