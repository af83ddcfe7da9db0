package tandem.client;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tandem worker --join HOST:PORT}: runs a worker node (in a child JVM) until stopped. */
@Command(name = "worker", mixinStandardHelpOptions = true,
    description = "Run a worker node that joins a Tandem server's cluster (`tandem server "
        + "--cluster-port PORT`) until it is stopped.")
final class WorkerCommand implements Callable<Integer> {

  static final String MAIN_CLASS = "tandem.worker.node.WorkerNodeMain";

  @Option(names = "--join", required = true, paramLabel = "HOST:PORT",
      description = "The server's cluster address.")
  String join;

  @Option(names = "--workers", paramLabel = "N",
      description = "Worker actors on this node (default: one per core).")
  Integer workers;

  @Option(names = "--devices", paramLabel = "0,1",
      description = "GPU ordinals the workers bind to, in order (CUDA build only).")
  String devices;

  @Option(names = "--host", paramLabel = "HOST",
      description = "The address the server reaches this node at (default: 127.0.0.1).")
  String host;

  @Option(names = "--port", paramLabel = "PORT",
      description = "This node's cluster port (default: a free one).")
  Integer port;

  @Override
  public Integer call() throws Exception {
    List<String> arguments = new ArrayList<>(List.of("--join", join));
    if (workers != null) {
      arguments.addAll(List.of("--workers", workers.toString()));
    }
    if (devices != null) {
      arguments.addAll(List.of("--devices", devices));
    }
    if (host != null) {
      arguments.addAll(List.of("--host", host));
    }
    if (port != null) {
      arguments.addAll(List.of("--port", port.toString()));
    }
    try (ServerProcess node =
        ServerProcess.launch(ServerProcess.command(MAIN_CLASS, arguments), null)) {
      return node.waitFor();
    }
  }
}
