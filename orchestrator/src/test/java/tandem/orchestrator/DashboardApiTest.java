package tandem.orchestrator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tandem.api.v1.GetJobRequest;
import tandem.api.v1.JobState;
import tandem.api.v1.JobStatus;
import tandem.api.v1.StopCondition;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.TaskProgress;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingServiceGrpc;

/**
 * The dashboard's HTTP API against a real server: JSON documents, the Server-Sent Events resumed
 * by Last-Event-ID, the actions, and /metrics parsed and checked against the job's own counts.
 */
class DashboardApiTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static TandemServer server;
  private static ManagedChannel channel;
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(5)).build();
  /** A job of 300 steps run to its end, shared by the read-only tests. */
  private static String finishedJob;
  private static JobStatus finished;

  @BeforeAll
  static void start() throws Exception {
    server = TestServers.startWithDashboard(2);
    channel = TestServers.channel(server);
    finishedJob = submit(300);
    finished = awaitEnd(finishedJob);
  }

  @AfterAll
  static void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.close();
  }

  @Test
  void theJobsListAndTheCurvesAccountForEveryStep() throws Exception {
    JsonNode jobs = JSON.readTree(get("/api/jobs").body());
    JsonNode job = find(jobs, finishedJob);
    assertEquals("succeeded", job.get("state").asText());
    assertEquals(300, job.get("stepsDone").asLong());
    assertTrue(job.get("finishedAt").asLong() >= job.get("startedAt").asLong());

    JsonNode series = JSON.readTree(get("/api/jobs/" + finishedJob + "/series?points=10").body());
    assertEquals(finished.getLastSequence(), series.get("lastSequence").asLong());
    long steps = 0;
    for (TaskProgress task : finished.getTasksList()) {
      JsonNode curve = series.get("tasks").get(task.getTask());
      assertEquals(task.getSteps(), curve.get("steps").asLong(), task.getTask());
      assertTrue(curve.get("loss").size() <= 20, "at most two points a bucket");
      assertEquals(curve.get("loss").size(), curve.get("smooth").size());
      steps += curve.get("steps").asLong();
    }
    assertEquals(300, steps);
    assertTrue(series.get("events").size() >= 2, "job started and finished at least");

    JsonNode overview = JSON.readTree(get("/api/jobs/" + finishedJob + "/overview?columns=30")
        .body());
    assertEquals(finished.getTasksCount(), overview.get("tasks").size());
    for (JsonNode row : overview.get("tasks")) {
      assertEquals(30, row.get("cells").asText().length());
    }
    // The job's status rides along (the page refreshes with this one request), without the
    // per-task statuses that are most of a many-task job's.
    JsonNode riding = overview.get("job");
    assertEquals(finishedJob, riding.get("id").asText());
    assertEquals("succeeded", riding.get("state").asText());
    assertEquals(300, riding.get("stepsDone").asLong());
    assertTrue(riding.get("status").has("stalenessHistogram"), riding.toString());
    assertFalse(riding.get("status").has("tasks"), "no per-task statuses");
    assertFalse(riding.has("taskNames"));
    JsonNode status = JSON.readTree(get("/api/jobs/" + finishedJob).body());
    assertEquals(finished.getTasksCount(), status.get("status").get("tasks").size(),
        "the status itself keeps them");
  }

  @Test
  void eventsResumeRightAfterTheLastEventId() throws Exception {
    HttpResponse<Stream<String>> response = HTTP.send(HttpRequest.newBuilder(
            uri("/api/jobs/" + finishedJob + "/events?after=3")).header("Last-Event-ID", "10")
        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofLines());
    assertEquals(200, response.statusCode());
    assertTrue(response.headers().firstValue("content-type").orElse("")
        .startsWith("text/event-stream"));
    // Each message: a JSON array of consecutive events, its id the last one's sequence number.
    List<Long> ids = new ArrayList<>();
    List<Long> sequences = new ArrayList<>();
    List<Long> lastOfEachBatch = new ArrayList<>();
    response.body().forEach(line -> {
      if (line.startsWith("id:")) {
        ids.add(Long.parseLong(line.substring(3).trim()));
      } else if (line.startsWith("data:")) {
        try {
          JsonNode batch = JSON.readTree(line.substring(5));
          assertTrue(batch.isArray() && batch.size() > 0, line);
          batch.forEach(event -> sequences.add(event.get("seq").asLong()));
          lastOfEachBatch.add(sequences.get(sequences.size() - 1));
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }
    });
    assertEquals(11, sequences.get(0), "the header wins over ?after");
    for (int i = 1; i < sequences.size(); i++) {
      assertEquals(sequences.get(i - 1) + 1, sequences.get(i), "no gap");
    }
    assertEquals(lastOfEachBatch, ids, "each message's id is its last event's sequence number");
    assertEquals(finished.getLastSequence(), sequences.get(sequences.size() - 1),
        "up to the job's final event, then the stream ends");
  }

  @Test
  void metricsCountEachTasksStepsAndExamples() throws Exception {
    HttpResponse<String> scrape = get("/metrics");
    assertEquals(200, scrape.statusCode());
    Map<String, Double> steps = samples(scrape.body(), "tandem_steps_total", finishedJob);
    Map<String, Double> examples = samples(scrape.body(), "tandem_examples_total", finishedJob);
    for (TaskProgress task : finished.getTasksList()) {
      assertEquals(task.getSteps(), steps.get(task.getTask()), task.getTask());
      assertEquals(task.getExamples(), examples.get(task.getTask()), task.getTask());
    }
    assertTrue(scrape.body().contains("tandem_step_compute_seconds_count{job=\"" + finishedJob
        + "\"} 300"), "a compute time per step");
    assertTrue(scrape.body().contains("tandem_jobs{state=\"succeeded\"}"));
    assertTrue(scrape.body().contains("tandem_javacpp_bytes{kind=\"physical\"}"));
    assertTrue(scrape.body().contains("jvm_memory_used_bytes"));
    // Both embedded workers, idle or training whatever the other tests run.
    double localWorkers = scrape.body().lines()
        .filter(line -> line.startsWith("tandem_workers{node=\"local\",state=\"idle\"}")
            || line.startsWith("tandem_workers{node=\"local\",state=\"training\"}"))
        .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
        .sum();
    assertEquals(2, localWorkers, scrape.body());
  }

  @Test
  void metricsScrapedWhileAJobRunsNeverRunAheadOfIt() throws Exception {
    String jobId = submit(600);
    Iterator<TrainingEvent> events = stub().streamEvents(
        StreamEventsRequest.newBuilder().setJobId(jobId).build());
    long seen = 0;
    while (seen < 50) {
      if (events.next().hasStepCompleted()) {
        seen++;
      }
    }
    double during = samples(get("/metrics").body(), "tandem_steps_total", jobId).values()
        .stream().mapToDouble(Double::doubleValue).sum();
    assertTrue(during >= 50, "at least the steps seen: " + during);
    JobStatus done = awaitEnd(jobId);
    assertTrue(during <= done.getStepsDone());
    double after = samples(get("/metrics").body(), "tandem_steps_total", jobId).values()
        .stream().mapToDouble(Double::doubleValue).sum();
    assertEquals(done.getStepsDone(), after);
  }

  @Test
  void actionsChangeTheScheduleAndCancelTheJob() throws Exception {
    String jobId = submit(10_000_000);
    String path = "/api/jobs/" + jobId;
    assertEquals(415, post(path + "/cancel", "{}", "text/plain").statusCode(),
        "only JSON, so other sites' pages cannot post without a CORS preflight");
    HttpResponse<String> bad = post(path + "/schedule",
        "{\"policy\":\"weighted\",\"weights\":{\"no_such_task\":1}}", "application/json");
    assertEquals(400, bad.statusCode());
    assertTrue(bad.body().contains("no_such_task"), bad.body());
    HttpResponse<String> weighted = post(path + "/schedule",
        "{\"policy\":\"weighted\",\"weights\":{\"binary_plus1\":3,\"decimal_times2\":1}}",
        "application/json");
    assertEquals(200, weighted.statusCode(), weighted.body());
    assertEquals("weighted", JSON.readTree(weighted.body()).get("schedule").get("policy")
        .asText());

    assertEquals(200, post(path + "/cancel", "{}", "application/json").statusCode());
    assertEquals(JobState.JOB_STATE_CANCELLED, awaitEnd(jobId).getState());
    assertEquals(409, post(path + "/cancel", "{}", "application/json").statusCode());
    assertEquals(404, post("/api/jobs/job-9999/cancel", "{}", "application/json").statusCode());
    assertEquals(404, get("/api/jobs/job-9999").statusCode());
  }

  @Test
  void aPredictCallShowsInTheLatencyHistogram() throws Exception {
    tandem.api.v1.InferenceServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(1, TimeUnit.MINUTES)
        .predict(tandem.api.v1.PredictRequest.newBuilder().setJobId(finishedJob)
            .setTask("binary_plus1")
            .addInputs(tandem.api.v1.Row.newBuilder().addValues(0).addValues(1).addValues(0)
                .addValues(1))
            .build());
    assertTrue(Pattern.compile("^tandem_predict_seconds_count\\{model=\"[^\"]+\"} 1$",
        Pattern.MULTILINE).matcher(get("/metrics").body()).find());
  }

  @Test
  void pagesAndChartingComeFromTheClassPath() throws Exception {
    assertTrue(get("/").body().contains("/assets/jobs.js"));
    assertTrue(get("/job?id=" + finishedJob).body().contains("/webjars/uplot/uPlot.iife.min.js"));
    HttpResponse<String> uplot = get("/webjars/uplot/uPlot.iife.min.js");
    assertEquals(200, uplot.statusCode());
    assertTrue(uplot.body().contains("uPlot"));
    // Every script the pages load is served (the job page's come in several files).
    for (String page : List.of("/", "/job?id=" + finishedJob)) {
      Matcher script =
          Pattern.compile("<script src=\"(/assets/[^\"]+)\"").matcher(get(page).body());
      int scripts = 0;
      while (script.find()) {
        assertEquals(200, get(script.group(1)).statusCode(), script.group(1));
        scripts++;
      }
      assertTrue(scripts > 0, page);
    }
  }

  /** The values of {@code metric} for {@code job}, by task label. */
  static Map<String, Double> samples(String exposition, String metric, String job) {
    Pattern line = Pattern.compile("^" + metric + "\\{job=\"" + Pattern.quote(job)
        + "\",task=\"([^\"]*)\"} (\\S+)$", Pattern.MULTILINE);
    Map<String, Double> values = new HashMap<>();
    Matcher m = line.matcher(exposition);
    while (m.find()) {
      values.put(m.group(1), Double.parseDouble(m.group(2)));
    }
    return values;
  }

  private static JsonNode find(JsonNode jobs, String id) {
    for (JsonNode job : jobs) {
      if (job.get("id").asText().equals(id)) {
        return job;
      }
    }
    throw new AssertionError("job " + id + " not listed: " + jobs);
  }

  private static String submit(long steps) {
    return stub().submitJob(SubmitJobRequest.newBuilder().setSpec(Specs.example("arithmetic")
        .toBuilder().setStop(StopCondition.newBuilder().setMaxSteps(steps))).build()).getJobId();
  }

  private static JobStatus awaitEnd(String jobId) {
    stub().streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId).build())
        .forEachRemaining(event -> { });
    return stub().getJob(GetJobRequest.newBuilder().setJobId(jobId).build());
  }

  private static TrainingServiceGrpc.TrainingServiceBlockingStub stub() {
    return TrainingServiceGrpc.newBlockingStub(channel).withDeadlineAfter(3, TimeUnit.MINUTES);
  }

  private static URI uri(String path) {
    return URI.create("http://127.0.0.1:" + server.httpPort() + path);
  }

  private static HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return HTTP.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> post(String path, String body, String contentType)
      throws IOException, InterruptedException {
    return HTTP.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30))
        .header("Content-Type", contentType).POST(HttpRequest.BodyPublishers.ofString(body))
        .build(), HttpResponse.BodyHandlers.ofString());
  }
}
