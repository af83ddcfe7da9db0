package tandem.orchestrator;

import io.grpc.ManagedChannel;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import tandem.api.v1.TrainingServiceGrpc;

/**
 * A real server on 127.0.0.1 (a free port) with local workers and a channel to it, shared by the
 * tests of one class: {@code @RegisterExtension static final RunningServer server = new
 * RunningServer(2);}.
 */
final class RunningServer implements BeforeAllCallback, AfterAllCallback {

  private final int workers;
  private final com.typesafe.config.Config overrides;
  private TandemServer server;
  private ManagedChannel channel;

  RunningServer(int workers) {
    this(workers, com.typesafe.config.ConfigFactory.empty());
  }

  /** With {@code overrides} over the defaults. */
  RunningServer(int workers, com.typesafe.config.Config overrides) {
    this.workers = workers;
    this.overrides = overrides;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    server = TestServers.start(workers, null, overrides);
    channel = TestServers.channel(server);
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.close();
  }

  TandemServer server() {
    return server;
  }

  ManagedChannel channel() {
    return channel;
  }

  /** A blocking stub whose calls each time out after {@code minutes}. */
  TrainingServiceGrpc.TrainingServiceBlockingStub blocking(long minutes) {
    return TrainingServiceGrpc.newBlockingStub(channel).withDeadlineAfter(minutes, TimeUnit.MINUTES);
  }
}
