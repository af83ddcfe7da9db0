package tandem.orchestrator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** With a token, the dashboard asks for the gRPC port's token on every request. */
class DashboardAccessTest {

  private static final String TOKEN = "s3cret-dashboard-token";
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(5)).build();
  @TempDir
  static Path dir;
  private static TandemServer server;

  @BeforeAll
  static void start() throws Exception {
    Path tokenFile = dir.resolve("token");
    Files.writeString(tokenFile, TOKEN + "\n");
    server = TestServers.startWithDashboard(1, ConfigFactory.parseMap(Map.of(
        "tandem.orchestrator.grpc.token-file", tokenFile.toString())));
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void everyRequestNeedsTheTokenAsABearerHeaderOrTheCookieTheLoginSets() throws Exception {
    assertEquals(401, send(request("/api/jobs")).statusCode());
    assertEquals(401, send(request("/metrics")).statusCode());
    assertEquals(401, send(request("/api/jobs").header("Authorization", "Bearer wrong"))
        .statusCode());
    assertEquals(200, send(request("/metrics").header("Authorization", "Bearer " + TOKEN))
        .statusCode(), "Prometheus with authorization: credentials");

    assertEquals(401, send(request("/?token=wrong")).statusCode());
    HttpResponse<String> login = send(request("/?token=" + TOKEN));
    assertEquals(303, login.statusCode());
    assertEquals("/", login.headers().firstValue("Location").orElseThrow());
    String cookie = login.headers().firstValue("Set-Cookie").orElseThrow();
    assertTrue(cookie.startsWith("tandem_token=" + TOKEN + ";"), cookie);
    assertTrue(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), cookie);
    assertEquals(200, send(request("/api/jobs").header("Cookie", "tandem_token=" + TOKEN))
        .statusCode());
    assertEquals(200, send(request("/").header("Cookie", "tandem_token=" + TOKEN))
        .statusCode());
  }

  private static HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.httpPort() + path))
        .timeout(Duration.ofSeconds(30));
  }

  private static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
