package tandem.orchestrator;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import tandem.worker.node.MainArgs;

/**
 * Entry point of the embedded server: {@code --port N} (0 picks a free one), {@code --host H},
 * {@code --workers N} (local worker actors; default one per core) and {@code --port-file F} (the
 * bound port is written there, atomically, once the server is serving; `tandem demo` waits for
 * it), {@code --model FILE} (repeatable: a model bundle to serve, named after the file; one that
 * fails to load is reported on stderr and skipped). A cluster: {@code --cluster-port P} (worker
 * nodes join there), {@code --cluster-host H} (the address they reach it at),
 * {@code --no-local-workers}, {@code --min-workers N} (jobs wait for that many). {@code --job-dir
 * D} (checkpoints; empty string: none). {@code --data-root DIR} (repeatable): data files of jobs
 * only under these directories (default: the working directory). Security: {@code --token-file F}
 * (bearer token; else TANDEM_TOKEN), {@code --tls-cert F --tls-key F} (PEM), {@code
 * --tls-client-ca F} (require client certificates), {@code --insecure} (serve a non-loopback
 * address without them). The dashboard and {@code /metrics}: {@code --http-port P} (off by default; 0 picks a free
 * port), {@code --http-host H} (default loopback); with a token, the dashboard asks for it too.
 * Flags read into the config are read before the others. Runs until the JVM is asked to stop.
 */
public final class TandemServerMain {

  private static final MainArgs ARGS = new MainArgs("tandem server");

  /** Flags read into the config before the settings: option to config path. */
  private static final java.util.Map<String, String> SECURITY_FLAGS = java.util.Map.of(
      "--token-file", "tandem.orchestrator.grpc.token-file",
      "--tls-cert", "tandem.orchestrator.grpc.tls.cert-chain",
      "--tls-key", "tandem.orchestrator.grpc.tls.private-key",
      "--tls-client-ca", "tandem.orchestrator.grpc.tls.client-ca",
      "--cluster-key-store", "tandem.cluster.key-store",
      "--cluster-key-store-password-file", "tandem.cluster.key-store-password-file");

  private TandemServerMain() {}

  public static void main(String[] args) throws IOException, InterruptedException {
    Config config = ConfigFactory.load();
    java.util.List<String> dataRoots = new java.util.ArrayList<>();
    java.util.Map<String, Object> overrides = new java.util.HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--insecure")) {
        overrides.put("tandem.orchestrator.grpc.insecure", true);
        overrides.put("tandem.cluster.insecure", true);
      } else if (i + 1 < args.length && SECURITY_FLAGS.containsKey(args[i])) {
        overrides.put(SECURITY_FLAGS.get(args[i]), args[++i]);
      } else if (i + 1 < args.length && args[i].equals("--data-root")) {
        dataRoots.add(args[++i]);
      }
    }
    if (!dataRoots.isEmpty()) {
      overrides.put("tandem.orchestrator.data-roots", dataRoots);
    }
    config = ConfigFactory.parseMap(overrides).withFallback(config);
    ServerSettings settings = ServerSettings.create(config);
    tandem.orchestrator.http.HttpSettings http = tandem.orchestrator.http.HttpSettings.create(config);
    Path portFile = null;
    java.util.List<Path> bundles = new java.util.ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (flag.equals("--help") || flag.equals("-h")) {
        System.out.println("usage: TandemServerMain [--host H] [--port N] [--workers N] "
            + "[--port-file F] [--model BUNDLE]... [--cluster-port P] [--cluster-host H] "
            + "[--no-local-workers] [--min-workers N] [--job-dir D] [--data-root DIR]... [--token-file F] [--tls-cert F --tls-key F] "
            + "[--tls-client-ca F] [--cluster-key-store F [--cluster-key-store-password-file F]] "
            + "[--insecure] [--http-port P] [--http-host H]");
        return;
      }
      if (flag.equals("--no-local-workers")) {
        settings = settings.withLocalWorkers(0);
        continue;
      }
      if (flag.equals("--insecure")) {
        continue; // read above, into the config
      }
      if (i + 1 >= args.length) {
        ARGS.fail("missing value after " + flag);
      }
      String value = args[++i];
      switch (flag) {
        case "--port" -> settings = settings.withPort(ARGS.atLeast(flag, value, 0));
        case "--host" -> settings = settings.withHost(value);
        case "--workers" -> {
          int workers = ARGS.atLeast(flag, value, 0);
          settings = settings.withLocalWorkers(
              workers > 0 ? workers : Runtime.getRuntime().availableProcessors());
        }
        case "--port-file" -> portFile = Path.of(value);
        case "--cluster-port" -> settings = settings.withClusterPort(ARGS.atLeast(flag, value, 1));
        case "--cluster-host" -> settings = settings.withClusterHost(value);
        case "--min-workers" -> settings = settings.withMinWorkers(ARGS.atLeast(flag, value, 1));
        case "--job-dir" -> settings = settings.withJobDir(value.isBlank() ? null : Path.of(value));
        case "--model" -> bundles.add(Path.of(value));
        case "--http-port" -> http = http.withPort(ARGS.atLeast(flag, value, 0));
        case "--http-host" -> http = http.withHost(value);
        case "--data-root", "--token-file", "--tls-cert", "--tls-key", "--tls-client-ca",
            "--cluster-key-store", "--cluster-key-store-password-file" -> { }
        default -> ARGS.fail("unknown option " + flag);
      }
    }
    TandemServer server;
    try {
      server = TandemServer.start(settings, http, config);
    } catch (IllegalStateException e) {
      ARGS.fail(e.getMessage());
      return;
    }
    if (server.httpPort() >= 0) {
      System.err.println("tandem server: dashboard on http://" + http.host() + ":"
          + server.httpPort() + "/");
    }
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "tandem-shutdown"));
    for (Path bundle : bundles) {
      try {
        var model = server.models().load(bundle, "");
        System.err.println("tandem server: serving " + bundle + " as '" + model.name() + "' ("
            + model.model().graph().tasks().size() + " tasks)");
      } catch (IOException | IllegalStateException e) {
        System.err.println("tandem server: not serving " + bundle + ": " + e.getMessage());
      }
    }
    if (portFile != null) {
      Path temp = Files.createTempFile(portFile.toAbsolutePath().getParent(), "port", ".tmp");
      Files.writeString(temp, server.port() + "\n", StandardCharsets.UTF_8);
      Files.move(temp, portFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
    server.awaitTermination();
  }
}
