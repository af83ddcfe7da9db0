package tandem.bench.dashboard;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * What an open job page asks of the server, without a browser: the job's live summaries of the
 * first {@link #SHOWN_TASKS} tasks (read to the job's end) and, every 4 s, the overview (with
 * the job's status), as the page does. It runs in a JVM of its own under {@code nice} or
 * SCHED_IDLE ({@link #open}), as a page on another machine would cost the server its share and
 * nothing more: the client's own reading and parsing are not the server's. One JVM serves
 * every run of a bench: it is told each job's address when the job starts ({@link #follow})
 * and answers once it read the job's stream to its end ({@link #awaitEnd}), so that neither
 * its start-up nor its first requests' class loading and compiling (about a second of CPU in a
 * fresh JVM, which a browser that has the page open has behind it) fall inside a measured run.
 * Not thread-safe.
 */
final class PageLikeClient implements AutoCloseable {

  /** Cards a page shows at once (1400 x 1100 pixels): the tasks its live summaries carry. */
  static final int SHOWN_TASKS = 12;

  private final Process process;
  private final BufferedReader answers;
  private Duration before = Duration.ZERO;
  private Duration used = Duration.ZERO;

  private PageLikeClient(Process process) {
    this.process = process;
    this.answers = new BufferedReader(new InputStreamReader(
        process.getInputStream(), StandardCharsets.UTF_8));
  }

  /** Starts a client behind {@code priority} (e.g. {@code nice -n 19}), waiting for jobs. */
  static PageLikeClient open(List<String> priority, Path log) throws IOException {
    List<String> command = new ArrayList<>(priority);
    command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of("-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
    command.addAll(List.of("-cp", ManagementFactory.getRuntimeMXBean().getClassPath(),
        PageLikeClient.class.getName()));
    return new PageLikeClient(new ProcessBuilder(command).redirectError(log.toFile()).start());
  }

  /** Follows {@code job} ({@code http://host:port/api/jobs/ID}) from now on. */
  void follow(String job) throws IOException {
    before = totalCpu();
    process.getOutputStream().write((job + "\n").getBytes(StandardCharsets.UTF_8));
    process.getOutputStream().flush();
  }

  /**
   * Waits until the client read the followed job's stream to its end; its line ("ended N
   * lines"). The CPU its process used from {@link #follow} to here is then {@link #cpuTime()}.
   */
  String awaitEnd() throws IOException {
    String line = answers.readLine();
    used = totalCpu().minus(before);
    if (line == null) {
      throw new IOException("the page-like client stopped (exit " + exitCode() + ")");
    }
    return line;
  }

  private String exitCode() {
    return process.isAlive() ? "none yet" : Integer.toString(process.exitValue());
  }

  /** CPU time the client's process used over the last followed job. */
  Duration cpuTime() {
    return used;
  }

  private Duration totalCpu() {
    return process.toHandle().info().totalCpuDuration().orElse(Duration.ZERO);
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  /**
   * For each job address read from standard input, one per line: follows the job until its
   * event stream ends (the overview polled meanwhile), then prints "ended N lines".
   */
  public static void main(String[] args) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    BufferedReader in = new BufferedReader(new InputStreamReader(
        System.in, StandardCharsets.UTF_8));
    ScheduledExecutorService polls = Executors.newSingleThreadScheduledExecutor();
    String job;
    while ((job = in.readLine()) != null) {
      String followed = job;
      var polling = polls.scheduleAtFixedRate(() -> http.sendAsync(
          HttpRequest.newBuilder(URI.create(followed + "/overview?columns=120")).build(),
          HttpResponse.BodyHandlers.discarding()), 0, 4, TimeUnit.SECONDS);
      // The page's live summaries carry the tasks on its screen: about a dozen cards.
      String status = http.send(HttpRequest.newBuilder(URI.create(job)).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      List<String> shown = new ArrayList<>();
      com.google.gson.JsonParser.parseString(status).getAsJsonObject().getAsJsonArray("taskNames")
          .forEach(name -> {
            if (shown.size() < SHOWN_TASKS) {
              shown.add(URLEncoder.encode(name.getAsString(), StandardCharsets.UTF_8));
            }
          });
      long lines = http.send(HttpRequest.newBuilder(URI.create(job + "/live?after=0&tasks="
              + String.join(",", shown))).build(),
          HttpResponse.BodyHandlers.ofLines()).body().count();
      polling.cancel(false);
      System.out.println("ended " + lines + " lines");
      System.out.flush();
    }
    polls.shutdownNow();
  }
}
