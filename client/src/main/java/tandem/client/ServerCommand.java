package tandem.client;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tandem server}: runs a Tandem server in a child JVM until it exits. */
@Command(name = "server", mixinStandardHelpOptions = true,
    description = "Run a Tandem server with local workers (in a child JVM) until it is stopped.")
final class ServerCommand implements Callable<Integer> {

  @Mixin
  ServerOptions serverOptions;

  @Option(names = "--cluster-port", paramLabel = "PORT",
      description = "Let worker nodes (`tandem worker --join HOST:PORT`) join on this port.")
  Integer clusterPort;

  @Option(names = "--cluster-host", paramLabel = "HOST",
      description = "The address worker nodes reach this server at (default: 127.0.0.1).")
  String clusterHost;

  @Option(names = "--no-local-workers",
      description = "Train on worker nodes only (with --cluster-port).")
  boolean noLocalWorkers;

  @Option(names = "--min-workers", paramLabel = "N",
      description = "Jobs wait until N workers, local and remote, are available.")
  Integer minWorkers;

  @Option(names = "--job-dir", paramLabel = "DIR",
      description = "Where jobs keep their checkpoints (default: ./jobs); unfinished jobs there "
          + "resume when the server starts.")
  Path jobDir;

  @Option(names = "--host", paramLabel = "HOST",
      description = "Address to serve on (default: 127.0.0.1). Another address needs TLS and a "
          + "token, or --insecure.")
  String host;

  @Option(names = "--token-file", paramLabel = "FILE",
      description = "Require the bearer token in FILE on every call but health checks "
          + "(default: $TANDEM_TOKEN if set).")
  Path tokenFile;

  @Option(names = "--tls-cert", paramLabel = "FILE", description = "Serve TLS with this PEM "
      + "certificate chain.")
  Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "FILE", description = "PEM private key of --tls-cert.")
  Path tlsKey;

  @Option(names = "--tls-client-ca", paramLabel = "FILE",
      description = "Require client certificates signed by these CAs (mutual TLS).")
  Path tlsClientCa;

  @Option(names = "--cluster-key-store", paramLabel = "FILE",
      description = "The cluster's shared PKCS#12 key store: worker nodes join over mutual TLS "
          + "and only with it.")
  Path clusterKeyStore;

  @Option(names = "--cluster-key-store-password-file", paramLabel = "FILE",
      description = "File holding its password (default: $TANDEM_CLUSTER_PASSWORD).")
  Path clusterKeyStorePasswordFile;

  @Option(names = "--insecure",
      description = "Serve gRPC, or the cluster port, on an address other than loopback without "
          + "TLS and a token (a key store) anyway.")
  boolean insecure;

  @Override
  public Integer call() throws Exception {
    java.util.List<String> arguments =
        new java.util.ArrayList<>(serverOptions.arguments());
    if (host != null) {
      arguments.addAll(java.util.List.of("--host", host));
    }
    for (var flag : new Object[][] {{"--token-file", tokenFile}, {"--tls-cert", tlsCert},
        {"--tls-key", tlsKey}, {"--tls-client-ca", tlsClientCa},
        {"--cluster-key-store", clusterKeyStore},
        {"--cluster-key-store-password-file", clusterKeyStorePasswordFile}}) {
      if (flag[1] != null) {
        arguments.addAll(java.util.List.of((String) flag[0], flag[1].toString()));
      }
    }
    if (insecure) {
      arguments.add("--insecure");
    }
    if (clusterPort != null) {
      arguments.addAll(java.util.List.of("--cluster-port", clusterPort.toString()));
    }
    if (clusterHost != null) {
      arguments.addAll(java.util.List.of("--cluster-host", clusterHost));
    }
    if (noLocalWorkers) {
      arguments.add("--no-local-workers");
    }
    if (minWorkers != null) {
      arguments.addAll(java.util.List.of("--min-workers", minWorkers.toString()));
    }
    if (jobDir != null) {
      arguments.addAll(java.util.List.of("--job-dir", jobDir.toString()));
    }
    try (ServerProcess server = ServerProcess.start(arguments, null)) {
      return server.waitFor();
    }
  }
}
