package tandem.orchestrator;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import tandem.orchestrator.http.HttpSettings;
import tandem.worker.node.MainArgs;

/**
 * Entry point of the embedded server ({@code tandem server} and {@code tandem demo} run it in a
 * child JVM; so does the Docker image's {@code server} role). Flags that are settings (security,
 * data roots) are laid over the config before the settings are read; the others replace single
 * settings. Runs until the JVM is asked to stop.
 */
@Command(name = "tandem server", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Run a Tandem server with local workers until it is stopped.")
public final class TandemServerMain implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Option(names = "--port", paramLabel = "N", description = "gRPC port (0 picks a free one; "
      + "default: tandem.orchestrator.grpc.port).")
  Integer port;

  @Option(names = "--host", paramLabel = "H", description = "Address to serve on (default: "
      + "loopback). Another address needs TLS and a token, or --insecure.")
  String host;

  @Option(names = "--workers", paramLabel = "N",
      description = "Local worker actors (0: one per core; default: the config's).")
  Integer workers;

  @Option(names = "--port-file", paramLabel = "F", description = "Write the bound port here, "
      + "atomically, once the server is serving (`tandem demo` waits for it).")
  Path portFile;

  @Option(names = "--model", paramLabel = "BUNDLE", description = "A model bundle to serve, "
      + "named after the file (repeatable); one that fails to load is reported and skipped.")
  List<Path> bundles = new ArrayList<>();

  @Option(names = "--cluster-port", paramLabel = "P",
      description = "Let worker nodes join on this port.")
  Integer clusterPort;

  @Option(names = "--cluster-host", paramLabel = "H",
      description = "The address worker nodes reach this server at.")
  String clusterHost;

  @Option(names = "--no-local-workers", description = "Train on worker nodes only.")
  boolean noLocalWorkers;

  @Option(names = "--min-workers", paramLabel = "N",
      description = "Jobs wait until N workers, local and remote, are available.")
  Integer minWorkers;

  @Option(names = "--job-dir", paramLabel = "D",
      description = "Where jobs keep their checkpoints (an empty string: none).")
  String jobDir;

  @Option(names = "--data-root", paramLabel = "DIR", description = "Jobs read data files only "
      + "under these directories (repeatable; default: the working directory).")
  List<String> dataRoots = new ArrayList<>();

  @Option(names = "--token-file", paramLabel = "F",
      description = "Require this bearer token (default: $TANDEM_TOKEN if set).")
  String tokenFile;

  @Option(names = "--tls-cert", paramLabel = "F", description = "PEM certificate chain for TLS.")
  String tlsCert;

  @Option(names = "--tls-key", paramLabel = "F", description = "PEM private key of --tls-cert.")
  String tlsKey;

  @Option(names = "--tls-client-ca", paramLabel = "F",
      description = "Require client certificates signed by these CAs.")
  String tlsClientCa;

  @Option(names = "--cluster-key-store", paramLabel = "F",
      description = "The cluster's shared PKCS#12 key store (worker nodes join over mutual TLS).")
  String clusterKeyStore;

  @Option(names = "--cluster-key-store-password-file", paramLabel = "F",
      description = "File holding its password (default: $TANDEM_CLUSTER_PASSWORD).")
  String clusterKeyStorePasswordFile;

  @Option(names = "--insecure", description = "Serve a non-loopback address (gRPC or the "
      + "cluster port) without TLS and a token (a key store) anyway.")
  boolean insecure;

  @Option(names = "--http-port", paramLabel = "P",
      description = "Serve the dashboard and /metrics on this port (off by default; 0 picks one).")
  Integer httpPort;

  @Option(names = "--http-host", paramLabel = "H",
      description = "The dashboard's address (default: loopback).")
  String httpHost;

  public static void main(String[] args) {
    MainArgs.run(new TandemServerMain(), args);
  }

  @Override
  public Integer call() throws IOException, InterruptedException {
    Config config = ConfigFactory.parseMap(overrides()).withFallback(ConfigFactory.load());
    ServerSettings settings = settings(ServerSettings.create(config));
    HttpSettings http = HttpSettings.create(config);
    if (httpPort != null) {
      http = http.withPort(MainArgs.atLeast(spec, "--http-port", httpPort, 0));
    }
    if (httpHost != null) {
      http = http.withHost(httpHost);
    }
    PrintWriter err = spec.commandLine().getErr();
    TandemServer server;
    try {
      server = TandemServer.start(settings, http, config);
    } catch (IllegalStateException | IllegalArgumentException
        | com.typesafe.config.ConfigException e) {
      // A setting the server refuses to start with: the reason, not a stack trace.
      err.println("tandem server: " + e.getMessage());
      return 2;
    }
    if (server.httpPort() >= 0) {
      err.println("tandem server: dashboard on http://" + http.host() + ":" + server.httpPort()
          + "/");
    }
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "tandem-shutdown"));
    for (Path bundle : bundles) {
      try {
        var model = server.models().load(bundle, "");
        err.println("tandem server: serving " + bundle + " as '" + model.name() + "' ("
            + model.model().graph().tasks().size() + " tasks)");
      } catch (IOException | IllegalStateException e) {
        err.println("tandem server: not serving " + bundle + ": " + e.getMessage());
      }
    }
    err.flush();
    if (portFile != null) {
      Path temp = Files.createTempFile(portFile.toAbsolutePath().getParent(), "port", ".tmp");
      Files.writeString(temp, server.port() + "\n", StandardCharsets.UTF_8);
      Files.move(temp, portFile, StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
    }
    server.awaitTermination();
    return 0;
  }

  /** The flags that are settings of the config, by config path. */
  private Map<String, Object> overrides() {
    Map<String, Object> overrides = new HashMap<>();
    if (insecure) {
      overrides.put("tandem.orchestrator.grpc.insecure", true);
      overrides.put("tandem.cluster.insecure", true);
    }
    Map<String, String> files = new HashMap<>();
    files.put("tandem.orchestrator.grpc.token-file", tokenFile);
    files.put("tandem.orchestrator.grpc.tls.cert-chain", tlsCert);
    files.put("tandem.orchestrator.grpc.tls.private-key", tlsKey);
    files.put("tandem.orchestrator.grpc.tls.client-ca", tlsClientCa);
    files.put("tandem.cluster.key-store", clusterKeyStore);
    files.put("tandem.cluster.key-store-password-file", clusterKeyStorePasswordFile);
    files.forEach((path, value) -> {
      if (value != null) {
        overrides.put(path, value);
      }
    });
    if (!dataRoots.isEmpty()) {
      overrides.put("tandem.orchestrator.data-roots", dataRoots);
    }
    return overrides;
  }

  /** {@code settings} with the flags that replace single settings. */
  private ServerSettings settings(ServerSettings settings) {
    if (port != null) {
      settings = settings.withPort(MainArgs.atLeast(spec, "--port", port, 0));
    }
    if (host != null) {
      settings = settings.withHost(host);
    }
    if (workers != null) {
      int local = MainArgs.atLeast(spec, "--workers", workers, 0);
      settings = settings.withLocalWorkers(
          local > 0 ? local : Runtime.getRuntime().availableProcessors());
    }
    if (noLocalWorkers) {
      settings = settings.withLocalWorkers(0);
    }
    if (clusterPort != null) {
      settings = settings.withClusterPort(MainArgs.atLeast(spec, "--cluster-port", clusterPort, 1));
    }
    if (clusterHost != null) {
      settings = settings.withClusterHost(clusterHost);
    }
    if (minWorkers != null) {
      settings = settings.withMinWorkers(MainArgs.atLeast(spec, "--min-workers", minWorkers, 1));
    }
    if (jobDir != null) {
      settings = settings.withJobDir(jobDir.isBlank() ? null : Path.of(jobDir));
    }
    return settings;
  }
}
