package tandem.orchestrator;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;
import tandem.orchestrator.checkpoint.CheckpointSettings;

/**
 * The server's settings, read from {@code tandem.orchestrator} (defaults in reference.conf).
 * Immutable.
 *
 * @param localWorkers embedded workers; 0 in the config means one per available core
 * @param checkpoints job directories and checkpoint defaults
 * @param minWorkers workers (local and remote) a job waits for
 * @param clusterPort port of this node in a Pekko Cluster of worker nodes; 0: no cluster
 * @param clusterHost the address worker nodes reach this node at
 */
public record ServerSettings(String host, int port, int localWorkers, int retainedEvents,
    Duration askTimeout, Duration shutdownGrace, CheckpointSettings checkpoints, int minWorkers,
    int clusterPort, String clusterHost) {

  public static ServerSettings create(Config config) {
    Config c = config.getConfig("tandem.orchestrator");
    int workers = c.getInt("local-workers");
    return new ServerSettings(
        c.getString("grpc.host"),
        c.getInt("grpc.port"),
        workers > 0 ? workers : Runtime.getRuntime().availableProcessors(),
        c.getInt("retained-events"),
        c.getDuration("ask-timeout"),
        c.getDuration("shutdown-grace"),
        CheckpointSettings.create(config),
        c.getInt("cluster.min-workers"),
        0,
        c.getString("cluster.host"));
  }

  public ServerSettings withPort(int newPort) {
    return new ServerSettings(host, newPort, localWorkers, retainedEvents, askTimeout,
        shutdownGrace, checkpoints, minWorkers, clusterPort, clusterHost);
  }

  public ServerSettings withHost(String newHost) {
    return new ServerSettings(newHost, port, localWorkers, retainedEvents, askTimeout,
        shutdownGrace, checkpoints, minWorkers, clusterPort, clusterHost);
  }

  /** {@code workers} embedded workers; 0 for none (every worker is on a worker node). */
  public ServerSettings withLocalWorkers(int workers) {
    return new ServerSettings(host, port, workers, retainedEvents, askTimeout, shutdownGrace,
        checkpoints, minWorkers, clusterPort, clusterHost);
  }

  /** Job directories under {@code dir}; null: no checkpoints, no resume. */
  public ServerSettings withJobDir(Path dir) {
    return new ServerSettings(host, port, localWorkers, retainedEvents, askTimeout,
        shutdownGrace, checkpoints.withJobDir(dir), minWorkers, clusterPort, clusterHost);
  }

  /** The address worker nodes reach the orchestrator at (a host name or IP). */
  public ServerSettings withClusterHost(String host) {
    return new ServerSettings(this.host, port, localWorkers, retainedEvents, askTimeout,
        shutdownGrace, checkpoints, minWorkers, clusterPort, host);
  }

  public ServerSettings withMinWorkers(int workers) {
    return new ServerSettings(host, port, localWorkers, retainedEvents, askTimeout,
        shutdownGrace, checkpoints, workers, clusterPort, clusterHost);
  }

  /** Serve worker nodes on {@code newClusterPort} (a Pekko Cluster seed); 0: no cluster. */
  public ServerSettings withClusterPort(int newClusterPort) {
    return new ServerSettings(host, port, localWorkers, retainedEvents, askTimeout,
        shutdownGrace, checkpoints, minWorkers, newClusterPort, clusterHost);
  }
}
