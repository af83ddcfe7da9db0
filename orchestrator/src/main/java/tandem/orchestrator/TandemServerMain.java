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
 * only under these directories (default: the working directory). Runs until the JVM is asked to stop.
 */
public final class TandemServerMain {

  private static final MainArgs ARGS = new MainArgs("tandem server");

  private TandemServerMain() {}

  public static void main(String[] args) throws IOException, InterruptedException {
    Config config = ConfigFactory.load();
    java.util.List<String> dataRoots = new java.util.ArrayList<>();
    for (int i = 0; i + 1 < args.length; i++) {
      if (args[i].equals("--data-root")) {
        dataRoots.add(args[++i]);
      }
    }
    if (!dataRoots.isEmpty()) {
      config = ConfigFactory.parseMap(java.util.Map.of("tandem.orchestrator.data-roots",
          dataRoots)).withFallback(config);
    }
    ServerSettings settings = ServerSettings.create(config);
    Path portFile = null;
    java.util.List<Path> bundles = new java.util.ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (flag.equals("--help") || flag.equals("-h")) {
        System.out.println("usage: TandemServerMain [--host H] [--port N] [--workers N] "
            + "[--port-file F] [--model BUNDLE]... [--cluster-port P] [--cluster-host H] "
            + "[--no-local-workers] [--min-workers N] [--job-dir D] [--data-root DIR]...");
        return;
      }
      if (flag.equals("--no-local-workers")) {
        settings = settings.withLocalWorkers(0);
        continue;
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
        case "--data-root" -> { } // read above, into the config
        default -> ARGS.fail("unknown option " + flag);
      }
    }
    TandemServer server = TandemServer.start(settings, config);
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
