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

  @Option(names = "--key-store", paramLabel = "FILE",
      description = "The cluster's shared PKCS#12 key store (TLS between nodes; the server's "
          + "--cluster-key-store).")
  java.nio.file.Path keyStore;

  @Option(names = "--key-store-password-file", paramLabel = "FILE",
      description = "File holding its password (default: $TANDEM_CLUSTER_PASSWORD).")
  java.nio.file.Path keyStorePasswordFile;

  @Option(names = "--insecure",
      description = "Join from an address other than loopback without a key store anyway.")
  boolean insecure;

  @Override
  public Integer call() throws Exception {
    List<String> arguments = new ArrayList<>(List.of("--join", join));
    if (keyStore != null) {
      arguments.addAll(List.of("--key-store", keyStore.toString()));
    }
    if (keyStorePasswordFile != null) {
      arguments.addAll(List.of("--key-store-password-file", keyStorePasswordFile.toString()));
    }
    if (insecure) {
      arguments.add("--insecure");
    }
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
