package tandem.orchestrator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tandem.api.v1.GetJobRequest;
import tandem.api.v1.JobState;
import tandem.api.v1.StopCondition;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingServiceGrpc;

/**
 * A server with mutual TLS and a bearer token, as README's "Securing a deployment" sets one up
 * (a test CA made with openssl): calls without the token, with a wrong one, without TLS or
 * without a client certificate of the CA are refused; health checks need no token; the right
 * credentials train a job. And a server asked to bind beyond loopback without TLS and a token
 * refuses to start.
 */
class SecuredServerTest {

  private static final String TOKEN = "s3cret-token-for-tests";

  @TempDir
  static Path dir;

  static TandemServer server;
  static List<ManagedChannel> channels = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
        "ca.pem", "-days", "2", "-subj", "/CN=tandem-test-ca");
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other-ca.key", "-out",
        "other-ca.pem", "-days", "2", "-subj", "/CN=another-ca");
    Files.writeString(dir.resolve("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    certificate("server", "ca", "server.ext");
    certificate("client", "ca", null);
    certificate("stranger", "other-ca", null);
    Files.writeString(dir.resolve("token"), TOKEN + "\n");
    Config secured = ConfigFactory.parseMap(Map.of(
        "tandem.orchestrator.grpc.token-file", dir.resolve("token").toString(),
        "tandem.orchestrator.grpc.tls.cert-chain", dir.resolve("server.pem").toString(),
        "tandem.orchestrator.grpc.tls.private-key", dir.resolve("server.key").toString(),
        "tandem.orchestrator.grpc.tls.client-ca", dir.resolve("ca.pem").toString()));
    server = TestServers.start(1, null, secured);
  }

  @AfterAll
  static void stop() throws Exception {
    for (ManagedChannel channel : channels) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    server.close();
  }

  @Test
  void theRightCredentialsTrainAJob() {
    var stub = training(tls("client"), TOKEN);
    String jobId = stub.submitJob(SubmitJobRequest.newBuilder().setSpec(
        Specs.example("arithmetic").toBuilder().setStop(StopCondition.newBuilder()
            .setMaxSteps(50))).build()).getJobId();
    Iterator<TrainingEvent> events = stub.streamEvents(
        StreamEventsRequest.newBuilder().setJobId(jobId).build());
    TrainingEvent last = null;
    while (events.hasNext()) {
      last = events.next();
    }
    assertEquals(JobState.JOB_STATE_SUCCEEDED, last.getJobFinished().getState());
  }

  @Test
  void aCallWithoutTheTokenIsUnauthenticated() {
    assertRefused(Status.Code.UNAUTHENTICATED, training(tls("client"), null), "authorization");
  }

  @Test
  void aCallWithAWrongTokenIsUnauthenticated() {
    assertRefused(Status.Code.UNAUTHENTICATED, training(tls("client"), TOKEN + "x"),
        "bearer token");
    assertRefused(Status.Code.UNAUTHENTICATED, training(tls("client"), TOKEN.substring(1)),
        "bearer token");
  }

  @Test
  void aTokenWithoutTheBearerSchemeIsUnauthenticated() {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), TOKEN);
    Channel channel = ClientInterceptors.intercept(tls("client"),
        MetadataUtils.newAttachHeadersInterceptor(headers));
    assertRefused(Status.Code.UNAUTHENTICATED, TrainingServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(30, TimeUnit.SECONDS), "authorization");
  }

  @Test
  void healthCheckingNeedsNoToken() {
    assertEquals(HealthCheckResponse.ServingStatus.SERVING, HealthGrpc.newBlockingStub(
        tls("client")).withDeadlineAfter(30, TimeUnit.SECONDS)
        .check(HealthCheckRequest.getDefaultInstance()).getStatus());
  }

  @Test
  void plaintextIsRefused() {
    ManagedChannel plain = NettyChannelBuilder.forAddress("127.0.0.1", server.port())
        .usePlaintext().build();
    channels.add(plain);
    assertRefused(Status.Code.UNAVAILABLE, training(plain, TOKEN), null);
  }

  @Test
  void tlsWithoutAClientCertificateIsRefused() throws Exception {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port())
        .sslContext(GrpcSslContexts.forClient().trustManager(dir.resolve("ca.pem").toFile())
            .build()).build();
    channels.add(channel);
    assertRefused(Status.Code.UNAVAILABLE, training(channel, TOKEN), null);
  }

  @Test
  void aClientCertificateOfAnotherCaIsRefused() {
    assertRefused(Status.Code.UNAVAILABLE, training(tls("stranger"), TOKEN), null);
  }

  @Test
  void aServerThatWouldServeBeyondLoopbackWithoutTlsAndATokenDoesNotStart() {
    for (Config config : List.of(ConfigFactory.empty(), ConfigFactory.parseMap(Map.of(
        "tandem.orchestrator.grpc.token-file", dir.resolve("token").toString())))) {
      IllegalStateException error = assertThrows(IllegalStateException.class, () ->
          TandemServer.start(ServerSettings.create(config.withFallback(ConfigFactory.load()))
              .withHost("0.0.0.0").withPort(0).withLocalWorkers(1).withJobDir(null),
              config.withFallback(ConfigFactory.load())));
      assertTrue(error.getMessage().contains("--insecure"), error.getMessage());
      assertTrue(error.getMessage().contains("TLS and a token"), error.getMessage());
    }
  }

  @Test
  void aServerWithFewerThanOneAsyncUpdateTogetherDoesNotStartAndSaysWhy() {
    Config config = ConfigFactory.parseMap(Map.of(tandem.worker.Worker.UPDATES_TOGETHER_SETTING, 0))
        .withFallback(ConfigFactory.load());
    IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () ->
        TandemServer.start(ServerSettings.create(config).withHost("127.0.0.1").withPort(0)
            .withLocalWorkers(1).withJobDir(null), config));
    assertTrue(error.getMessage().contains(tandem.worker.Worker.UPDATES_TOGETHER_SETTING),
        error.getMessage());
  }

  @Test
  void aServerWithACoordinatorAnswerTimeoutOfZeroDoesNotStartAndSaysWhy() {
    Config config = ConfigFactory.parseMap(Map.of(
        "tandem.orchestrator.coordinator-answer-timeout", "0s"))
        .withFallback(ConfigFactory.load());
    IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () ->
        TandemServer.start(ServerSettings.create(config).withHost("127.0.0.1").withPort(0)
            .withLocalWorkers(1).withJobDir(null), config));
    assertTrue(error.getMessage().contains("coordinator-answer-timeout must be positive"),
        error.getMessage());
  }

  private static void assertRefused(Status.Code code,
      TrainingServiceGrpc.TrainingServiceBlockingStub stub, String words) {
    StatusRuntimeException error = assertThrows(StatusRuntimeException.class,
        () -> stub.getJob(GetJobRequest.newBuilder().setJobId("job-0999").build()));
    assertEquals(code, error.getStatus().getCode(), error.getStatus().toString());
    if (words != null) {
      assertTrue(String.valueOf(error.getStatus().getDescription()).contains(words),
          error.getStatus().toString());
    }
    assertTrue(!String.valueOf(error.getStatus().getDescription()).contains(TOKEN));
  }

  private static TrainingServiceGrpc.TrainingServiceBlockingStub training(Channel channel,
      String token) {
    Channel withToken = channel;
    if (token != null) {
      Metadata headers = new Metadata();
      headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
          "Bearer " + token);
      withToken = ClientInterceptors.intercept(channel,
          MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    return TrainingServiceGrpc.newBlockingStub(withToken).withDeadlineAfter(1, TimeUnit.MINUTES);
  }

  /** A mutual-TLS channel presenting {@code name}'s certificate. */
  private static ManagedChannel tls(String name) {
    try {
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port())
          .sslContext(GrpcSslContexts.forClient().trustManager(dir.resolve("ca.pem").toFile())
              .keyManager(dir.resolve(name + ".pem").toFile(),
                  dir.resolve(name + ".key").toFile()).build()).build();
      channels.add(channel);
      return channel;
    } catch (javax.net.ssl.SSLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** {@code name}.key and {@code name}.pem, signed by {@code ca}. */
  private static void certificate(String name, String ca, String extensions) throws Exception {
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out",
        name + ".csr", "-subj", "/CN=" + name);
    List<String> sign = new ArrayList<>(List.of("x509", "-req", "-in", name + ".csr", "-CA",
        ca + ".pem", "-CAkey", ca + ".key", "-CAcreateserial", "-out", name + ".pem", "-days",
        "2"));
    if (extensions != null) {
      sign.addAll(List.of("-extfile", extensions));
    }
    openssl(sign.toArray(String[]::new));
  }

  private static void openssl(String... arguments) throws Exception {
    List<String> command = new ArrayList<>(List.of("openssl"));
    command.addAll(List.of(arguments));
    Process process = new ProcessBuilder(command).directory(dir.toFile())
        .redirectErrorStream(true).redirectOutput(new File(dir.toFile(), "openssl.log")).start();
    assertTrue(process.waitFor(60, TimeUnit.SECONDS) && process.exitValue() == 0,
        "openssl " + command + ": " + Files.readString(dir.resolve("openssl.log")));
  }
}
