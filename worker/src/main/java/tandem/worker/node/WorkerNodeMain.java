package tandem.worker.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Entry point of a worker node: {@code --join HOST:PORT} (the orchestrator's cluster address,
 * required), {@code --workers N} (default: one per core), {@code --devices 0,1} (GPU ordinals,
 * see {@code tandem.worker.devices}), {@code --host H} (the address the other nodes reach this
 * one at; default 127.0.0.1) and {@code --port P} (default 0, a free port); {@code --key-store F}
 * and {@code --key-store-password-file F} (the cluster's shared key store: TLS, see
 * {@code tandem.cluster}), {@code --insecure} (a non-loopback host without it). When the node is
 * removed from the cluster (its orchestrator went away) it joins again with a new actor system,
 * so worker nodes outlive an orchestrator restart. Runs until the JVM is asked to stop.
 */
public final class WorkerNodeMain {

  private static final MainArgs ARGS = new MainArgs("tandem worker");

  private static final Logger LOG = LoggerFactory.getLogger(WorkerNodeMain.class);

  private WorkerNodeMain() {}

  public static void main(String[] args) throws Exception {
    String join = null;
    String host = "127.0.0.1";
    int port = 0;
    int workers = Runtime.getRuntime().availableProcessors();
    List<Integer> devices = null;
    java.util.Map<String, Object> cluster = new java.util.HashMap<>();
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (flag.equals("--insecure")) {
        cluster.put("tandem.cluster.insecure", true);
        continue;
      }
      if (flag.equals("--help") || flag.equals("-h")) {
        System.out.println("usage: WorkerNodeMain --join HOST:PORT [--workers N] "
            + "[--devices 0,1] [--host H] [--port P] [--key-store F "
            + "[--key-store-password-file F]] [--insecure]");
        return;
      }
      if (i + 1 >= args.length) {
        ARGS.fail("missing value after " + flag);
      }
      String value = args[++i];
      switch (flag) {
        case "--join" -> join = value;
        case "--host" -> host = value;
        case "--port" -> port = ARGS.atLeast(flag, value, 0);
        case "--workers" -> workers = ARGS.atLeast(flag, value, 1);
        case "--devices" -> devices = devices(value);
        case "--key-store" -> cluster.put("tandem.cluster.key-store", value);
        case "--key-store-password-file" ->
            cluster.put("tandem.cluster.key-store-password-file", value);
        default -> ARGS.fail("unknown option " + flag);
      }
    }
    if (join == null || !join.contains(":")) {
      ARGS.fail("--join HOST:PORT is required (the orchestrator's --cluster-port)");
    }
    Config application = ConfigFactory.parseMap(cluster).withFallback(ConfigFactory.load());
    if (devices == null) {
      devices = application.getIntList("tandem.worker.devices");
    }
    Config config;
    try {
      config = ClusterSettings.config(application, host, port, join);
    } catch (IllegalStateException e) {
      ARGS.fail(e.getMessage());
      return;
    }
    while (true) {
      ActorSystem<Void> system = ActorSystem.create(WorkerNode.create(workers, devices),
          ClusterSettings.SYSTEM_NAME, config);
      Thread stop = new Thread(system::terminate, "tandem-worker-shutdown");
      Runtime.getRuntime().addShutdownHook(stop);
      system.getWhenTerminated().toCompletableFuture().join();
      try {
        Runtime.getRuntime().removeShutdownHook(stop);
      } catch (IllegalStateException shuttingDown) {
        return; // the JVM is stopping: do not join again
      }
      LOG.warn("worker node left the cluster; joining {} again", join);
    }
  }

  private static List<Integer> devices(String value) {
    List<Integer> devices = new ArrayList<>();
    for (String part : Arrays.stream(value.split(",")).map(String::trim).toList()) {
      devices.add(ARGS.atLeast("--devices", part, 0));
    }
    return devices;
  }
}
