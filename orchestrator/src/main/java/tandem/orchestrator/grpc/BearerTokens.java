package tandem.orchestrator.grpc;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.health.v1.HealthGrpc;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Lets a call through only with the server's bearer token ({@code authorization: Bearer TOKEN}),
 * except health checking, which load balancers and orchestrators ask without credentials. A call
 * without it, or with another, is closed UNAUTHENTICATED before its request is read. The
 * comparison takes the same time wherever the tokens differ ({@link MessageDigest#isEqual}), so
 * the token cannot be guessed byte by byte from response times. Immutable; thread-safe.
 */
public final class BearerTokens implements ServerInterceptor {

  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final String PREFIX = "Bearer ";

  private final byte[] token;

  public BearerTokens(String token) {
    if (token.isBlank()) {
      throw new IllegalArgumentException("expected a token, found an empty one");
    }
    this.token = token.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call,
      Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    if (HealthGrpc.SERVICE_NAME.equals(call.getMethodDescriptor().getServiceName())
        || matches(headers.get(AUTHORIZATION))) {
      return next.startCall(call, headers);
    }
    call.close(Status.UNAUTHENTICATED.withDescription("authorization: expected the server's "
        + "bearer token (tandem --token or TANDEM_TOKEN)"), new Metadata());
    return new ServerCall.Listener<>() {};
  }

  private boolean matches(String header) {
    if (header == null || !header.startsWith(PREFIX)) {
      return false;
    }
    return MessageDigest.isEqual(token,
        header.substring(PREFIX.length()).getBytes(StandardCharsets.UTF_8));
  }
}
