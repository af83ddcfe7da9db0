package tandem.bench.dashboard;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * What an open job page asks of the server, without a browser: the job's event stream (read to
 * its end) and, every 2 s, the overview and the status, as the page does.
 */
final class PageLikeClient implements AutoCloseable {

  private final HttpClient http = HttpClient.newHttpClient();
  private final ScheduledExecutorService polls = Executors.newSingleThreadScheduledExecutor();
  private final CompletableFuture<?> events;

  /** @param job the job's API address, {@code http://host:port/api/jobs/ID} */
  PageLikeClient(String job) {
    events = http.sendAsync(HttpRequest.newBuilder(URI.create(job + "/events?after=0")).build(),
            HttpResponse.BodyHandlers.ofLines())
        .thenAccept(response -> response.body().forEach(line -> { }));
    polls.scheduleAtFixedRate(() -> {
      http.sendAsync(HttpRequest.newBuilder(URI.create(job + "/overview?columns=120")).build(),
          HttpResponse.BodyHandlers.discarding());
      http.sendAsync(HttpRequest.newBuilder(URI.create(job)).build(),
          HttpResponse.BodyHandlers.discarding());
    }, 0, 2, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws InterruptedException {
    polls.shutdownNow();
    polls.awaitTermination(5, TimeUnit.SECONDS);
    events.cancel(true);
  }
}
