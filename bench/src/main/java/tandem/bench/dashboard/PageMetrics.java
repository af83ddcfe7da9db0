package tandem.bench.dashboard;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Where a headless Chromium's page spends its time, over the DevTools protocol that {@code
 * --remote-debugging-port} opens: a session on the page with the {@code Performance} domain
 * enabled from when it attached, whose {@code Performance.getMetrics} gives the cumulative
 * seconds of script, layout, style recalculation and all tasks of the page's main thread. The
 * bench reads them at the end of a run to say whether the page's scripts or its drawing cost
 * the CPU. Thread-safe.
 */
final class PageMetrics implements AutoCloseable {

  private final AtomicInteger ids = new AtomicInteger();
  private final Map<Integer, CompletableFuture<JsonObject>> replies = new ConcurrentHashMap<>();
  private volatile WebSocket socket;

  private PageMetrics() {}

  /**
   * Attaches to the browser's web page (waiting up to {@code wait} seconds for the browser to
   * open its DevTools port and the page), or returns null and says why on stderr.
   */
  static PageMetrics attach(Path profile, int wait) throws InterruptedException {
    HttpClient http = HttpClient.newHttpClient();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(wait);
    String why = "no DevTools port";
    while (System.nanoTime() < deadline) {
      try {
        Path portFile = profile.resolve("DevToolsActivePort");
        if (Files.exists(portFile) && !Files.readAllLines(portFile).isEmpty()) {
          String port = Files.readAllLines(portFile).get(0).trim();
          String pages = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
              + "/json/list")).build(), HttpResponse.BodyHandlers.ofString()).body();
          for (JsonElement page : JsonParser.parseString(pages).getAsJsonArray()) {
            JsonObject target = page.getAsJsonObject();
            if ("page".equals(target.get("type").getAsString())) {
              PageMetrics metrics = new PageMetrics();
              metrics.socket = http.newWebSocketBuilder().buildAsync(
                  URI.create(target.get("webSocketDebuggerUrl").getAsString()),
                  metrics.listener()).get(10, TimeUnit.SECONDS);
              metrics.call("Performance.enable");
              return metrics;
            }
          }
          why = "no web page among " + pages;
        }
      } catch (IOException | RuntimeException | java.util.concurrent.ExecutionException
          | java.util.concurrent.TimeoutException e) {
        why = e.toString();
      }
      Thread.sleep(200);
    }
    System.err.println("no page metrics: " + why);
    return null;
  }

  private WebSocket.Listener listener() {
    StringBuilder text = new StringBuilder();
    return new WebSocket.Listener() {
      @Override
      public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        text.append(data);
        if (last) {
          JsonObject message = JsonParser.parseString(text.toString()).getAsJsonObject();
          text.setLength(0);
          if (message.has("id")) {
            CompletableFuture<JsonObject> reply =
                replies.remove(message.get("id").getAsInt());
            if (reply != null) {
              reply.complete(message);
            }
          }
        }
        webSocket.request(1);
        return null;
      }
    };
  }

  /** Opens {@code url} in the page (its {@code Performance} metrics go on adding up). */
  void navigate(String url) throws InterruptedException {
    JsonObject params = new JsonObject();
    params.addProperty("url", url);
    call("Page.navigate", params);
  }

  private JsonObject call(String method) throws InterruptedException {
    return call(method, new JsonObject());
  }

  private JsonObject call(String method, JsonObject params) throws InterruptedException {
    int id = ids.incrementAndGet();
    CompletableFuture<JsonObject> reply = new CompletableFuture<>();
    replies.put(id, reply);
    JsonObject message = new JsonObject();
    message.addProperty("id", id);
    message.addProperty("method", method);
    message.add("params", params);
    try {
      socket.sendText(message.toString(), true).get(10, TimeUnit.SECONDS);
      return reply.get(10, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException(method + " got no answer", e);
    }
  }

  /**
   * The page's {@code ScriptDuration}, {@code LayoutDuration}, {@code RecalcStyleDuration},
   * {@code TaskDuration} and the like, in seconds since this session attached.
   */
  Map<String, Double> read() throws InterruptedException {
    JsonObject result = call("Performance.getMetrics").getAsJsonObject("result");
    Map<String, Double> metrics = new LinkedHashMap<>();
    for (JsonElement metric : result.getAsJsonArray("metrics")) {
      String name = metric.getAsJsonObject().get("name").getAsString();
      if (name.endsWith("Duration")) {
        metrics.put(name, metric.getAsJsonObject().get("value").getAsDouble());
      }
    }
    return metrics;
  }

  @Override
  public void close() {
    socket.abort();
  }
}
