package tandem.orchestrator;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * The server's settings, read from {@code tandem.orchestrator} (defaults in reference.conf).
 * Immutable.
 *
 * @param localWorkers embedded workers; 0 in the config means one per available core
 */
public record ServerSettings(String host, int port, int localWorkers, int retainedEvents,
    Duration askTimeout, Duration shutdownGrace) {

  public static ServerSettings create(Config config) {
    Config c = config.getConfig("tandem.orchestrator");
    int workers = c.getInt("local-workers");
    return new ServerSettings(
        c.getString("grpc.host"),
        c.getInt("grpc.port"),
        workers > 0 ? workers : Runtime.getRuntime().availableProcessors(),
        c.getInt("retained-events"),
        c.getDuration("ask-timeout"),
        c.getDuration("shutdown-grace"));
  }

  public ServerSettings withPort(int newPort) {
    return new ServerSettings(host, newPort, localWorkers, retainedEvents, askTimeout,
        shutdownGrace);
  }

  public ServerSettings withHost(String newHost) {
    return new ServerSettings(newHost, port, localWorkers, retainedEvents, askTimeout,
        shutdownGrace);
  }

  public ServerSettings withLocalWorkers(int workers) {
    return new ServerSettings(host, port, workers, retainedEvents, askTimeout, shutdownGrace);
  }
}
