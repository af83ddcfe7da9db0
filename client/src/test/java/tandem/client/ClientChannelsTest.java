package tandem.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ClientChannelsTest {

  @Test
  void everyCallCarriesTheBearerTokenAndNoneWithoutOne() throws Exception {
    AtomicReference<String> seen = new AtomicReference<>();
    ServerInterceptor capture = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        seen.set(String.valueOf(headers.get(ClientChannels.AUTHORIZATION)));
        return next.startCall(call, headers);
      }
    };
    String name = InProcessServerBuilder.generateName();
    Server server = InProcessServerBuilder.forName(name).directExecutor().addService(
        ServerInterceptors.intercept(new HealthStatusManager().getHealthService(), capture))
        .build().start();
    ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    try {
      HealthGrpc.newBlockingStub(ClientChannels.withToken(channel, " abc \n"))
          .check(HealthCheckRequest.getDefaultInstance());
      assertEquals("Bearer abc", seen.get());
      HealthGrpc.newBlockingStub(ClientChannels.withToken(channel, ""))
          .check(HealthCheckRequest.getDefaultInstance());
      assertEquals("null", seen.get());
    } finally {
      channel.shutdownNow();
      server.shutdownNow();
    }
  }
}
