package tandem.orchestrator.http;

import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tandem.orchestrator.job.JobManager;
import tandem.orchestrator.job.JobStore;
import tandem.orchestrator.metrics.TrainingMetrics;

/**
 * The server's HTTP endpoint (pekko-http on the server's actor system): the live dashboard, its
 * JSON and event streams, and {@code /metrics} ({@link DashboardRoutes}). Owns the binding and
 * the one thread that builds its documents; {@link #close()} unbinds. Thread-safe.
 */
public final class DashboardServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(DashboardServer.class);

  private final ServerBinding binding;
  private final ExecutorService dataExecutor;

  private DashboardServer(ServerBinding binding, ExecutorService dataExecutor) {
    this.binding = binding;
    this.dataExecutor = dataExecutor;
  }

  /**
   * Binds {@code settings}' address and serves until {@link #close()}.
   *
   * @param streamExecutor delivers live events (the gRPC streams' executor)
   * @param linger how long a live event waits for others to go out with it
   * @param token the bearer token every request must carry (the gRPC port's); empty: none
   * @throws IllegalStateException for an address beyond loopback without a token, unless
   *     {@code insecure}: its pages cancel jobs, and it has no TLS
   */
  public static DashboardServer start(HttpSettings settings, ActorSystem<?> system,
      ActorRef<JobManager.Command> jobManager, JobStore store, TrainingMetrics metrics,
      ScheduledExecutorService streamExecutor, Duration linger, Duration askTimeout,
      String token, boolean insecure) throws java.io.IOException {
    if (!insecure && token.isEmpty()
        && !java.net.InetAddress.getByName(settings.host()).isLoopbackAddress()) {
      throw new IllegalStateException("refusing to serve the dashboard on " + settings.host()
          + " without a token: anyone who reaches it could cancel jobs. Give --token-file (or "
          + "TANDEM_TOKEN), serve 127.0.0.1, or pass --insecure to accept the risk");
    }
    // One thread: a page's documents wait for each other rather than take a second core
    // from training.
    ExecutorService dataExecutor = Executors.newSingleThreadExecutor(runnable -> {
      Thread thread = new Thread(runnable, "tandem-dashboard");
      thread.setDaemon(true);
      return thread;
    });
    DashboardRoutes routes = new DashboardRoutes(store, system, jobManager, metrics, dataExecutor,
        streamExecutor, linger, settings.liveWindow(), askTimeout, token,
        settings.subscribersPerJob());
    try {
      ServerBinding binding = Http.get(system).newServerAt(settings.host(), settings.port())
          .bind(routes.route()).toCompletableFuture().get(askTimeout.toMillis(),
              TimeUnit.MILLISECONDS);
      LOG.info("dashboard on http://{}:{}/", settings.host(),
          binding.localAddress().getPort());
      return new DashboardServer(binding, dataExecutor);
    } catch (ExecutionException | TimeoutException e) {
      dataExecutor.shutdownNow();
      throw new java.io.IOException("cannot serve the dashboard on " + settings.host() + ":"
          + settings.port() + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      dataExecutor.shutdownNow();
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while binding the dashboard");
    }
  }

  /** The bound port (the chosen one when the settings ask for port 0). */
  public int port() {
    return binding.localAddress().getPort();
  }

  @Override
  public void close() {
    try {
      binding.terminate(Duration.ofSeconds(2)).toCompletableFuture().get(3, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      LOG.warn("dashboard did not stop within 3 s", e);
    }
    dataExecutor.shutdownNow();
  }
}
