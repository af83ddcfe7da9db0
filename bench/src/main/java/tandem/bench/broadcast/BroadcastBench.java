package tandem.bench.broadcast;

import com.google.gson.GsonBuilder;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tandem.worker.TrunkSnapshot;
import tandem.worker.Worker;
import tandem.worker.node.ClusterSettings;
import tandem.worker.node.WorkerNode;

/**
 * Time to send a new trunk version to a worker on another cluster node (Artery TCP over
 * loopback, with the worker protocol's serializer: raw little-endian float32), next to raw
 * loopback TCP moving the same bytes. A broadcast is timed from the tell of
 * {@link Worker.NewTrunkVersion} until the reply to a {@link Worker.GetHeads} sent right after
 * it, which the worker handles only once the trunk arrived (messages from one sender keep their
 * order): serialization, transfer, deserialization into an ND4J buffer and one small round trip.
 * Both nodes run in this JVM (two actor systems), so they share its cores.
 */
@Command(name = "broadcast", mixinStandardHelpOptions = true,
    description = "Trunk broadcast to a worker node (Pekko Artery) vs raw loopback TCP.")
public final class BroadcastBench implements Callable<Integer> {

  @Option(names = "--parameters", defaultValue = "4000000",
      description = "Floats in the trunk (default: ${DEFAULT-VALUE}).")
  int parameters;

  @Option(names = "--repeats", defaultValue = "20",
      description = "Timed broadcasts after the warm-up (default: ${DEFAULT-VALUE}).")
  int repeats;

  @Option(names = "--warmup", defaultValue = "5", description = "Untimed broadcasts first.")
  int warmup;

  @Option(names = "--json", description = "Print one JSON object.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    long bytes = 4L * parameters;
    List<Double> artery = arteryBroadcasts();
    List<Double> tcp = rawTcp((int) bytes);
    double arteryMs = median(artery);
    double tcpMs = median(tcp);
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("parameters", parameters);
    report.put("bytes", bytes);
    report.put("repeats", repeats);
    report.put("arteryMedianMs", arteryMs);
    report.put("arteryMiBPerSecond", bytes / (1 << 20) / (arteryMs / 1000));
    report.put("rawTcpMedianMs", tcpMs);
    report.put("rawTcpMiBPerSecond", bytes / (1 << 20) / (tcpMs / 1000));
    report.put("ratio", arteryMs / tcpMs);
    if (json) {
      System.out.println(new GsonBuilder().create().toJson(report));
    } else {
      System.out.printf("trunk: %,d floats (%.1f MiB)%n", parameters, bytes / 1048576.0);
      System.out.printf("%-34s %10s %12s%n", "", "median ms", "MiB/s");
      System.out.printf("%-34s %10.2f %12.0f%n", "broadcast to a worker node (Artery)",
          arteryMs, report.get("arteryMiBPerSecond"));
      System.out.printf("%-34s %10.2f %12.0f%n", "raw loopback TCP, same bytes", tcpMs,
          report.get("rawTcpMiBPerSecond"));
      System.out.printf("ratio: %.1fx%n", arteryMs / tcpMs);
    }
    return 0;
  }

  private List<Double> arteryBroadcasts() throws Exception {
    int seedPort;
    try (ServerSocket free = new ServerSocket(0)) {
      seedPort = free.getLocalPort();
    }
    Config application = ConfigFactory.parseString("pekko.loglevel = WARNING")
        .withFallback(ConfigFactory.load());
    String seed = "127.0.0.1:" + seedPort;
    ActorSystem<Void> orchestrator = ActorSystem.create(Behaviors.empty(),
        ClusterSettings.SYSTEM_NAME, ClusterSettings.config(application, "127.0.0.1", seedPort,
            seed));
    ActorSystem<Void> node = ActorSystem.create(WorkerNode.create(1, List.of()),
        ClusterSettings.SYSTEM_NAME, ClusterSettings.config(application, "127.0.0.1", 0, seed));
    try {
      ActorRef<Worker.Command> worker = findWorker(orchestrator);
      INDArray trunk = Nd4j.rand(DataType.FLOAT, parameters);
      List<Double> times = new ArrayList<>();
      for (int i = 0; i < warmup + repeats; i++) {
        TrunkSnapshot snapshot = new TrunkSnapshot(i + 1, Map.of("trunk", trunk));
        long start = System.nanoTime();
        worker.tell(new Worker.NewTrunkVersion("broadcast-bench", snapshot));
        AskPattern.<Worker.Command, Worker.Heads>ask(worker,
            replyTo -> new Worker.GetHeads("broadcast-bench", replyTo), Duration.ofSeconds(60),
            orchestrator.scheduler()).toCompletableFuture().get(60, TimeUnit.SECONDS);
        if (i >= warmup) {
          times.add((System.nanoTime() - start) / 1e6);
        }
      }
      return times;
    } finally {
      node.terminate();
      orchestrator.terminate();
      node.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      orchestrator.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /** The worker node's worker, once the receptionist on this node lists it. */
  private static ActorRef<Worker.Command> findWorker(ActorSystem<Void> system) throws Exception {
    CompletableFuture<ActorRef<Worker.Command>> found = new CompletableFuture<>();
    ActorRef<Receptionist.Listing> listener = system.systemActorOf(
        Behaviors.<Receptionist.Listing>receiveMessage(listing -> {
          Set<ActorRef<Worker.Command>> workers = listing.getServiceInstances(WorkerNode.WORKERS);
          workers.stream().findFirst().ifPresent(found::complete);
          return Behaviors.same();
        }), "broadcast-bench-listener", org.apache.pekko.actor.typed.Props.empty());
    system.receptionist().tell(Receptionist.subscribe(WorkerNode.WORKERS, listener));
    return found.get(60, TimeUnit.SECONDS);
  }

  /** Round trips of {@code bytes} to a loopback peer that answers one byte once it has all. */
  private List<Double> rawTcp(int bytes) throws Exception {
    byte[] payload = new byte[bytes];
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Thread peer = new Thread(() -> {
        try (Socket socket = server.accept()) {
          DataInputStream in = new DataInputStream(socket.getInputStream());
          OutputStream out = socket.getOutputStream();
          byte[] received = new byte[bytes];
          while (true) {
            in.readFully(received);
            out.write(1);
            out.flush();
          }
        } catch (IOException closed) {
          // The benchmark is over.
        }
      }, "raw-tcp-peer");
      peer.setDaemon(true);
      peer.start();
      try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort())) {
        socket.setTcpNoDelay(true);
        OutputStream out = socket.getOutputStream();
        InputStream in = socket.getInputStream();
        List<Double> times = new ArrayList<>();
        for (int i = 0; i < warmup + repeats; i++) {
          long start = System.nanoTime();
          out.write(payload);
          out.flush();
          if (in.read() != 1) {
            throw new IOException("the loopback peer closed early");
          }
          if (i >= warmup) {
            times.add((System.nanoTime() - start) / 1e6);
          }
        }
        return times;
      }
    }
  }

  private static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    sorted.sort(Double::compare);
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }
}
