package tandem.client;

import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Channels to a Tandem server as the command line opens them: plaintext by default, TLS when
 * asked ({@code --tls}, or {@code --tls-ca} to trust a CA of one's own), and with the bearer
 * token ({@code --token} or {@code TANDEM_TOKEN}) on every call. Stateless.
 */
public final class ClientChannels {

  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private ClientChannels() {}

  /**
   * A channel to {@code target} (HOST:PORT); the caller closes it.
   *
   * @param tlsCa PEM CA certificates to trust; null: the system's, when {@code tls}
   * @param clientCert PEM certificate chain and key for mutual TLS; null: none
   */
  public static ManagedChannel open(String target, boolean tls, Path tlsCa, Path clientCert,
      Path clientKey) throws IOException {
    NettyChannelBuilder builder = NettyChannelBuilder.forTarget(target);
    if (tls || tlsCa != null) {
      var ssl = GrpcSslContexts.forClient();
      if (tlsCa != null) {
        ssl.trustManager(tlsCa.toFile());
      }
      if (clientCert != null) {
        ssl.keyManager(clientCert.toFile(), clientKey.toFile());
      }
      builder.sslContext(ssl.build());
    } else {
      builder.usePlaintext();
    }
    return builder.build();
  }

  /** {@code channel} with {@code token} as the bearer token of every call; empty: as it is. */
  public static Channel withToken(Channel channel, String token) {
    if (token == null || token.isBlank()) {
      return channel;
    }
    Metadata headers = new Metadata();
    headers.put(AUTHORIZATION, "Bearer " + token.strip());
    return ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers));
  }
}
