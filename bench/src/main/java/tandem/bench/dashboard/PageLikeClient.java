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
 * What an open job page asks of the server, without a browser: the job's live summaries (read
 * to the job's end) and, every 2 s, the overview and the status, as the page does. It runs in a
 * JVM of its own under {@code nice} or SCHED_IDLE ({@link #open}), as a page on another machine would cost the
 * server its share and nothing more: the client's own reading and parsing are not the server's.
 * The JVM is started before the job and told the job's address when it starts ({@link
 * #follow}), so that its start-up is not part of the run.
 */
final class PageLikeClient implements AutoCloseable {

  private final Process process;
  private java.time.Duration before = java.time.Duration.ZERO;

  private PageLikeClient(Process process) {
    this.process = process;
  }

  /** Starts a client behind {@code priority} (e.g. {@code nice -n 19}), waiting for its job. */
  static PageLikeClient open(List<String> priority, Path log) throws IOException {
    List<String> command = new ArrayList<>(priority);
    command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of("-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
    command.addAll(List.of("-cp", ManagementFactory.getRuntimeMXBean().getClassPath(),
        PageLikeClient.class.getName()));
    return new PageLikeClient(new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start());
  }

  /** Follows {@code job} ({@code http://host:port/api/jobs/ID}) from now on. */
  void follow(String job) throws IOException {
    before = totalCpu();
    process.getOutputStream().write((job + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
    process.getOutputStream().flush();
  }

  /** CPU time the client's process used since it was told the job. */
  java.time.Duration cpuTime() {
    return totalCpu().minus(before);
  }

  private java.time.Duration totalCpu() {
    return process.toHandle().info().totalCpuDuration().orElse(java.time.Duration.ZERO);
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  /**
   * Follows the job named by the first line of standard input until the event stream ends or
   * the JVM is stopped.
   */
  public static void main(String[] args) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    String job = new java.io.BufferedReader(new java.io.InputStreamReader(System.in,
        java.nio.charset.StandardCharsets.UTF_8)).readLine();
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
