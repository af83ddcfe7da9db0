package tandem.bench.dashboard;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * What an open job page asks of the server, without a browser: the job's event stream (read to
 * its end) and, every 2 s, the overview and the status, as the page does. It runs in a JVM of its
 * own under {@code nice} ({@link #open}), as a page on another machine would cost the server
 * its share and nothing more: the client's own reading and parsing are not the server's.
 */
final class PageLikeClient implements AutoCloseable {

  private final Process process;

  private PageLikeClient(Process process) {
    this.process = process;
  }

  /** Starts a client of {@code job} ({@code http://host:port/api/jobs/ID}) at {@code nice}. */
  static PageLikeClient open(String job, int nice, Path log) throws IOException {
    List<String> command = new ArrayList<>();
    if (Files.isExecutable(Path.of("/usr/bin/nice"))) {
      command.addAll(List.of("/usr/bin/nice", "-n", Integer.toString(nice)));
    }
    command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of("-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
    command.addAll(List.of("-cp", ManagementFactory.getRuntimeMXBean().getClassPath(),
        PageLikeClient.class.getName(), job));
    return new PageLikeClient(new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start());
  }

  /** CPU time the client's process used so far. */
  java.time.Duration cpuTime() {
    return process.toHandle().info().totalCpuDuration().orElse(java.time.Duration.ZERO);
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** Follows the job named by {@code args[0]} until the event stream ends or the JVM is stopped. */
  public static void main(String[] args) throws Exception {
    String job = args[0];
    HttpClient http = HttpClient.newHttpClient();
    ScheduledExecutorService polls = Executors.newSingleThreadScheduledExecutor();
    polls.scheduleAtFixedRate(() -> {
      http.sendAsync(HttpRequest.newBuilder(URI.create(job + "/overview?columns=120")).build(),
          HttpResponse.BodyHandlers.discarding());
      http.sendAsync(HttpRequest.newBuilder(URI.create(job)).build(),
          HttpResponse.BodyHandlers.discarding());
    }, 0, 2, TimeUnit.SECONDS);
    long lines = http.send(HttpRequest.newBuilder(URI.create(job + "/live?after=0")).build(),
        HttpResponse.BodyHandlers.ofLines()).body().count();
    System.out.println("event stream ended after " + lines + " lines");
    polls.shutdownNow();
    // Kept alive until the bench stops it, so that it can read this process's CPU time.
    new java.util.concurrent.CountDownLatch(1).await();
  }
}
