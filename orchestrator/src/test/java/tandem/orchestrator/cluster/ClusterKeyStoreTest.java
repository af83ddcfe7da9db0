package tandem.orchestrator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.grpc.ManagedChannel;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tandem.api.v1.JobState;
import tandem.api.v1.StopCondition;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.TaskPlacement;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingServiceGrpc;
import tandem.orchestrator.ServerSettings;
import tandem.orchestrator.Specs;
import tandem.orchestrator.TandemServer;
import tandem.orchestrator.TestServers;
import tandem.worker.node.ClusterSettings;

/**
 * The cluster port with a shared key store (Artery over mutual TLS): a worker node holding the
 * cluster's key store joins and trains; one holding another key store fails the handshake and
 * never joins, so no task is placed on it. And a cluster port beyond loopback without a key store
 * is refused.
 */
class ClusterKeyStoreTest {

  private static final Duration START = Duration.ofSeconds(90);

  @Test
  void onlyANodeWithTheClusterKeyStoreJoins(@TempDir Path dir) throws Exception {
    keyStore(dir, "cluster.p12", "cluster-secret");
    keyStore(dir, "intruder.p12", "intruder-secret");
    Files.writeString(dir.resolve("cluster.pass"), "cluster-secret\n");
    Files.writeString(dir.resolve("intruder.pass"), "intruder-secret\n");
    int clusterPort;
    try (ServerSocket free = new ServerSocket(0)) {
      clusterPort = free.getLocalPort();
    }
    Config config = ConfigFactory.parseMap(Map.of(
        "tandem.cluster.key-store", dir.resolve("cluster.p12").toString(),
        "tandem.cluster.key-store-password-file", dir.resolve("cluster.pass").toString()))
        .withFallback(ConfigFactory.load());
    ServerSettings settings = ServerSettings.create(config).withHost("127.0.0.1").withPort(0)
        .withLocalWorkers(0).withMinWorkers(1).withJobDir(null)
        .withClusterPort(clusterPort).withClusterHost("127.0.0.1");
    try (TandemServer server = TandemServer.start(settings, config);
        ChildJvm member = worker(dir, "cluster", clusterPort);
        ChildJvm intruder = worker(dir, "intruder", clusterPort)) {
      String memberAddress = member.await("worker node pekko://tandem@([0-9.:]+) with", START)
          .group(1);
      member.await("worker node .* registered", START);
      // The intruder's TLS handshake with the orchestrator fails: its certificate is not the
      // cluster's.
      intruder.await("(?i)SSLHandshakeException|certificate_unknown|bad_certificate|PKIX", START);
      ManagedChannel channel = TestServers.channel(server);
      try {
        var stub = TrainingServiceGrpc.newBlockingStub(channel);
        String jobId = stub.submitJob(SubmitJobRequest.newBuilder().setSpec(
            Specs.example("arithmetic").toBuilder().setStop(StopCondition.newBuilder()
                .setMaxSteps(100))).build()).getJobId();
        Iterator<TrainingEvent> events = stub.withDeadlineAfter(3, TimeUnit.MINUTES)
            .streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId).build());
        List<TrainingEvent> all = new ArrayList<>();
        events.forEachRemaining(all::add);
        TrainingEvent last = all.get(all.size() - 1);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, last.getJobFinished().getState(),
            last.toString());
        List<TaskPlacement> placements = all.stream().filter(TrainingEvent::hasJobStarted)
            .findFirst().orElseThrow().getJobStarted().getPlacementsList();
        for (TaskPlacement placement : placements) {
          assertTrue(placement.getWorker().startsWith(memberAddress), placement.toString());
        }
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      // Pekko logs "Welcome from" the seed once a node is in the cluster.
      member.await("Welcome from", START);
      assertFalse(String.join("\n", Files.readAllLines(dir.resolve("intruder.log")))
          .contains("Welcome from"), "the intruder never joined");
    }
  }

  @Test
  void aClusterPortBeyondLoopbackNeedsAKeyStoreOrInsecure() {
    IllegalStateException error = assertThrows(IllegalStateException.class, () ->
        ClusterSettings.config(ConfigFactory.load(), "0.0.0.0", 0, "0.0.0.0:25520"));
    assertTrue(error.getMessage().contains("--key-store"), error.getMessage());
    ClusterSettings.config(ConfigFactory.parseMap(Map.of("tandem.cluster.insecure", true))
        .withFallback(ConfigFactory.load()), "0.0.0.0", 0, "0.0.0.0:25520");
  }

  private static ChildJvm worker(Path dir, String name, int clusterPort) throws Exception {
    return ChildJvm.start("tandem.worker.node.WorkerNodeMain", dir.resolve(name + ".log"),
        "--join", "127.0.0.1:" + clusterPort, "--workers", "1", "--host", "127.0.0.1",
        "--key-store", dir.resolve(name + ".p12").toString(),
        "--key-store-password-file", dir.resolve(name + ".pass").toString());
  }

  private static void keyStore(Path dir, String file, String password) throws Exception {
    Process keytool = new ProcessBuilder(Paths.get(System.getProperty("java.home"), "bin",
        "keytool").toString(), "-genkeypair", "-alias", "tandem", "-keyalg", "RSA", "-keysize",
        "2048", "-dname", "CN=" + file, "-validity", "2", "-storetype", "PKCS12", "-keystore",
        dir.resolve(file).toString(), "-storepass", password, "-keypass", password)
        .redirectErrorStream(true).redirectOutput(dir.resolve(file + ".log").toFile()).start();
    assertTrue(keytool.waitFor(60, TimeUnit.SECONDS) && keytool.exitValue() == 0,
        Files.readString(dir.resolve(file + ".log")));
  }
}
