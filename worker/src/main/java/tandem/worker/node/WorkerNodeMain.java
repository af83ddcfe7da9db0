package tandem.worker.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * Entry point of a worker node ({@code tandem worker} runs it in a child JVM; so does the Docker
 * image's {@code worker} role). When the node is removed from the cluster (its orchestrator went
 * away) it joins again with a new actor system, so worker nodes outlive an orchestrator restart.
 * Runs until the JVM is asked to stop.
 */
@Command(name = "tandem worker", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Run a worker node that joins a Tandem server's cluster until it is stopped.")
public final class WorkerNodeMain implements Callable<Integer> {

  private static final Logger LOG = LoggerFactory.getLogger(WorkerNodeMain.class);

  @Spec
  CommandSpec spec;

  @Option(names = "--join", required = true, paramLabel = "HOST:PORT",
      description = "The orchestrator's cluster address (its --cluster-port).")
  String join;

  @Option(names = "--workers", paramLabel = "N",
      description = "Worker actors on this node (default: one per core).")
  Integer workers;

  @Option(names = "--devices", paramLabel = "0,1", split = ",",
      description = "GPU ordinals the workers bind to, in order (default: tandem.worker.devices).")
  List<Integer> devices;

  @Option(names = "--host", paramLabel = "HOST", defaultValue = "127.0.0.1",
      description = "The address the other nodes reach this one at (default: ${DEFAULT-VALUE}).")
  String host;

  @Option(names = "--port", paramLabel = "PORT", defaultValue = "0",
      description = "This node's cluster port (default: 0, a free one).")
  int port;

  @Option(names = "--key-store", paramLabel = "FILE",
      description = "The cluster's shared PKCS#12 key store (TLS between nodes; see "
          + "tandem.cluster).")
  Path keyStore;

  @Option(names = "--key-store-password-file", paramLabel = "FILE",
      description = "File holding its password (default: $TANDEM_CLUSTER_PASSWORD).")
  Path keyStorePasswordFile;

  @Option(names = "--insecure",
      description = "Join from an address other than loopback without a key store anyway.")
  boolean insecure;

  public static void main(String[] args) {
    MainArgs.run(new WorkerNodeMain(), args);
  }

  @Override
  public Integer call() {
    if (!join.contains(":")) {
      throw new ParameterException(spec.commandLine(), "--join expects HOST:PORT (the "
          + "orchestrator's --cluster-port), found '" + join + "'");
    }
    int actors = MainArgs.atLeast(spec, "--workers",
        workers == null ? Runtime.getRuntime().availableProcessors() : workers, 1);
    MainArgs.atLeast(spec, "--port", port, 0);
    if (devices != null) {
      devices.forEach(device -> MainArgs.atLeast(spec, "--devices", device, 0));
    }
    Map<String, Object> cluster = new HashMap<>();
    if (insecure) {
      cluster.put("tandem.cluster.insecure", true);
    }
    if (keyStore != null) {
      cluster.put("tandem.cluster.key-store", keyStore.toString());
    }
    if (keyStorePasswordFile != null) {
      cluster.put("tandem.cluster.key-store-password-file", keyStorePasswordFile.toString());
    }
    Config application = ConfigFactory.parseMap(cluster).withFallback(ConfigFactory.load());
    List<Integer> bound = devices != null ? devices
        : application.getIntList("tandem.worker.devices");
    Config config;
    try {
      config = ClusterSettings.config(application, host, port, join);
    } catch (IllegalStateException e) {
      spec.commandLine().getErr().println("tandem worker: " + e.getMessage());
      return 2;
    }
    while (true) {
      ActorSystem<Void> system = ActorSystem.create(WorkerNode.create(actors, bound),
          ClusterSettings.SYSTEM_NAME, config);
      Thread stop = new Thread(system::terminate, "tandem-worker-shutdown");
      Runtime.getRuntime().addShutdownHook(stop);
      system.getWhenTerminated().toCompletableFuture().join();
      try {
        Runtime.getRuntime().removeShutdownHook(stop);
      } catch (IllegalStateException shuttingDown) {
        return 0; // the JVM is stopping: do not join again
      }
      LOG.warn("worker node left the cluster; joining {} again", join);
    }
  }
}
