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
    return node.withFallback(transport(application, host))
        .withFallback(ConfigFactory.parseResources("tandem-cluster.conf"))
        .withFallback(application).resolve();
  }

  /**
   * Artery over TLS with mutual authentication when {@code tandem.cluster.key-store} is set: the
   * one key store is key and trust store both, a shared secret in the form of a certificate, so
   * only nodes holding it can join. Without it, refuses a cluster address other than loopback
   * unless {@code tandem.cluster.insecure}: a joining node receives specs and parameters, and
   * the orchestrator runs what a node sends.
   */
  private static Config transport(Config application, String host) {
    Config cluster = application.getConfig("tandem.cluster");
    String keyStore = cluster.getString("key-store");
    if (keyStore.isBlank()) {
      if (!cluster.getBoolean("insecure") && !loopback(host)) {
        throw new IllegalStateException("refusing a cluster port on " + host + " without a key "
            + "store: any machine that reaches it could join. Give every node the same "
            + "--key-store (tandem.cluster.key-store), or pass --insecure to accept the risk");
      }
      return ConfigFactory.empty();
    }
    String password = password(cluster);
    String engine = "pekko.remote.artery.ssl.config-ssl-engine.";
    return ConfigFactory.parseMap(java.util.Map.of(
        "pekko.remote.artery.transport", "tls-tcp",
        engine + "key-store", keyStore,
        engine + "trust-store", keyStore,
        engine + "key-store-password", password,
        engine + "key-password", password,
        engine + "trust-store-password", password,
        engine + "protocol", "TLSv1.3",
        engine + "enabled-algorithms", List.of("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"),
        engine + "require-mutual-authentication", true));
  }

  private static String password(Config cluster) {
    String file = cluster.getString("key-store-password-file");
    if (file.isBlank()) {
      return cluster.getString("key-store-password");
    }
    try {
      return java.nio.file.Files.readAllLines(java.nio.file.Path.of(file)).get(0).strip();
    } catch (java.io.IOException | IndexOutOfBoundsException e) {
      throw new IllegalStateException("cannot read the key store password from " + file, e);
    }
  }

  private static boolean loopback(String host) {
    try {
      return java.net.InetAddress.getByName(host).isLoopbackAddress();
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }
}
