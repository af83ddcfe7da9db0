package tandem.orchestrator;

import com.typesafe.config.Config;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import tandem.orchestrator.grpc.BearerTokens;

/**
 * How the gRPC port is protected ({@code tandem.orchestrator.grpc}): a bearer token (from
 * {@code token-file}, else the {@code TANDEM_TOKEN} environment variable) checked on every call
 * but health checking, and TLS with the server's certificate and key, optionally requiring
 * client certificates signed by {@code tls.client-ca} (mutual TLS). A server asked to bind an
 * address other than loopback without both TLS and a token refuses to start unless
 * {@code insecure} is on: anyone who reaches such a port could read and train anything.
 * Immutable.
 *
 * @param token empty: no token required
 * @param certChain null: no TLS
 */
public record GrpcSecurity(String token, Path certChain, Path privateKey, Path clientCa,
    boolean insecure) {

  public static GrpcSecurity create(Config config) throws IOException {
    Config c = config.getConfig("tandem.orchestrator.grpc");
    String tokenFile = c.getString("token-file");
    String token = !tokenFile.isBlank()
        ? Files.readString(Path.of(tokenFile), StandardCharsets.UTF_8).strip()
        : System.getenv().getOrDefault("TANDEM_TOKEN", "").strip();
    return new GrpcSecurity(token, path(c.getString("tls.cert-chain")),
        path(c.getString("tls.private-key")), path(c.getString("tls.client-ca")),
        c.getBoolean("insecure"));
  }

  public boolean tls() {
    return certChain != null;
  }

  /**
   * Refuses to serve {@code host} when it is not a loopback address and the port would be open:
   * without TLS or without a token, unless insecure was asked for.
   */
  public void checkBind(String host) throws IOException {
    if (certChain != null && privateKey == null) {
      throw new IllegalStateException("TLS needs the private key of the certificate chain too "
          + "(tandem.orchestrator.grpc.tls.private-key, --tls-key)");
    }
    boolean loopback = InetAddress.getByName(host).isLoopbackAddress();
    if (!loopback && !insecure && (!tls() || token.isEmpty())) {
      throw new IllegalStateException("refusing to serve " + host + " without TLS and a token: "
          + "anyone who reaches the port could read data and train. Give --tls-cert, --tls-key "
          + "and --token-file (or TANDEM_TOKEN), serve 127.0.0.1, or pass --insecure to accept "
          + "the risk");
    }
  }

  /** Applies TLS and the token check to {@code builder}. */
  public NettyServerBuilder apply(NettyServerBuilder builder) throws IOException {
    if (tls()) {
      SslContextBuilder ssl = GrpcSslContexts.forServer(certChain.toFile(), privateKey.toFile());
      if (clientCa != null) {
        ssl.trustManager(clientCa.toFile()).clientAuth(ClientAuth.REQUIRE);
      }
      builder.sslContext(ssl.build());
    }
    if (!token.isEmpty()) {
      builder.intercept(new BearerTokens(token));
    }
    return builder;
  }

  private static Path path(String value) {
    return value.isBlank() ? null : Path.of(value);
  }
}
