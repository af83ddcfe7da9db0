package tandem.orchestrator;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import tandem.api.v1.TrainingEvent;
import tandem.orchestrator.job.EventLog;

/** Real servers on 127.0.0.1 port 0 for the end-to-end tests, and channels to them. */
public final class TestServers {

  private TestServers() {}

  /** A server without job directories: no checkpoints, nothing resumed from other tests. */
  public static TandemServer start(int workers) throws IOException {
    return start(workers, null);
  }

  /** A server keeping job directories under {@code jobDir} (a test's temporary directory). */
  public static TandemServer start(int workers, java.nio.file.Path jobDir) throws IOException {
    return start(workers, jobDir, ConfigFactory.empty());
  }

  /**
   * A server with {@code overrides} over the defaults. Data may come from the working directory
   * and the system's temporary directory (the tests' {@code @TempDir}s), and models from the
   * temporary directory, unless they say otherwise.
   */
  public static TandemServer start(int workers, java.nio.file.Path jobDir, Config overrides)
      throws IOException {
    String temp = System.getProperty("java.io.tmpdir");
    Config config = overrides.withFallback(ConfigFactory.parseMap(java.util.Map.of(
        "tandem.orchestrator.data-roots", java.util.List.of(".", temp),
        "tandem.orchestrator.model-dir", temp))).withFallback(ConfigFactory.load());
    ServerSettings settings = ServerSettings.create(config)
        .withHost("127.0.0.1").withPort(0).withLocalWorkers(workers).withJobDir(jobDir);
    return TandemServer.start(settings, config);
  }

  /** A server without job directories, with the dashboard and /metrics on a free port. */
  public static TandemServer startWithDashboard(int workers) throws IOException {
    return startWithDashboard(workers, ConfigFactory.empty());
  }

  /** The same, with {@code overrides} over the defaults (a token, say). */
  public static TandemServer startWithDashboard(int workers, Config overrides)
      throws IOException {
    return start(workers, null, overrides.withFallback(
        ConfigFactory.parseMap(java.util.Map.of("tandem.orchestrator.http.port", 0))));
  }

  public static ManagedChannel channel(TandemServer server) {
    return NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
  }

  /**
   * Returns once the job's log on {@code server} has a checkpoint_written event: at once, where
   * a gRPC follower hears of it a linger (100 ms) later, thousands of steps of a small job on a
   * fast machine.
   */
  public static void awaitCheckpoint(TandemServer server, String jobId)
      throws InterruptedException {
    awaitCheckpoint(server, jobId, 1);
  }

  /** The same, for a checkpoint of at least {@code step} steps. */
  public static void awaitCheckpoint(TandemServer server, String jobId, long step)
      throws InterruptedException {
    EventLog log = server.jobs().find(jobId).orElseThrow().events();
    CountDownLatch written = new CountDownLatch(1);
    AtomicLong checked = new AtomicLong();
    Runnable listener = () -> {
      EventLog.Slice slice = log.read(checked.get(), Integer.MAX_VALUE);
      if (!slice.events().isEmpty()) {
        checked.set(slice.events().get(slice.events().size() - 1).getSequence());
      }
      if (slice.events().stream().anyMatch(event -> event.hasCheckpointWritten()
          && event.getCheckpointWritten().getStep() >= step)) {
        written.countDown();
      }
    };
    log.addListener(listener);
    listener.run();
    if (!written.await(2, TimeUnit.MINUTES)) {
      throw new AssertionError("no checkpoint of " + jobId + " at step " + step
          + " or later within 2 minutes");
    }
    log.removeListener(listener);
  }
}
