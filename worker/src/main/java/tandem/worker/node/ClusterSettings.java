package tandem.worker.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.List;

/**
 * The config of a node of a Tandem cluster: tandem-cluster.conf with this node's address and
 * the seed node (the orchestrator) over the application's config. Stateless.
 */
public final class ClusterSettings {

  /** The actor system's name; every node of one cluster must use it. */
  public static final String SYSTEM_NAME = "tandem";

  private ClusterSettings() {}

  /**
   * @param host the address other nodes reach this one at
   * @param port this node's cluster port (0 picks a free one)
   * @param seed the orchestrator's {@code host:port}; the orchestrator passes its own
   */
  public static Config config(Config application, String host, int port, String seed) {
    Config node = ConfigFactory.parseMap(java.util.Map.of(
        "pekko.remote.artery.canonical.hostname", host,
        "pekko.remote.artery.canonical.port", port,
        "pekko.cluster.seed-nodes", List.of("pekko://" + SYSTEM_NAME + "@" + seed)));
    return node.withFallback(ConfigFactory.parseResources("tandem-cluster.conf"))
        .withFallback(application).resolve();
  }
}
