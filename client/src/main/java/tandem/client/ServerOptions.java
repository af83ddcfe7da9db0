package tandem.client;

import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The options of a command that starts a server in a child JVM ({@code server}, {@code serve}):
 * its port, local workers, port file and data roots. A picocli mixin.
 */
final class ServerOptions {

  @Option(names = "--port", defaultValue = "50051",
      description = "Port to serve on; 0 picks a free one (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--workers", paramLabel = "N", description = "Local workers (default: the server's).")
  Integer workers;

  @Option(names = "--port-file", paramLabel = "FILE",
      description = "Write the bound port to FILE once serving.")
  Path portFile;

  @Option(names = "--http-port", paramLabel = "PORT",
      description = "Serve the live dashboard and Prometheus /metrics on this port "
          + "(127.0.0.1; 0 picks a free one; default: off).")
  Integer httpPort;

  @Option(names = "--data-root", paramLabel = "DIR",
      description = "Jobs may read data files only under DIR (repeatable; default: the server's "
          + "working directory).")
  List<Path> dataRoots = new java.util.ArrayList<>();

  /** The server's arguments for these options. */
  List<String> arguments() {
    List<String> arguments = new java.util.ArrayList<>(
        ServerProcess.serverArguments(port, workers, portFile));
    if (httpPort != null) {
      arguments.addAll(List.of("--http-port", httpPort.toString()));
    }
    dataRoots.forEach(root -> arguments.addAll(List.of("--data-root", root.toString())));
    return arguments;
  }
}
