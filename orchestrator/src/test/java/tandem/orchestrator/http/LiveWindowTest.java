package tandem.orchestrator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import tandem.api.v1.CheckpointWritten;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobState;
import tandem.api.v1.StepCompleted;
import tandem.api.v1.TrainingEvent;
import tandem.orchestrator.job.EventLog;

/**
 * The job page's live summaries: smoothing carried on across windows gives the step-by-step
 * average, spikes are kept, the worker timeline adds up, and the stream covers every event once
 * in a few messages.
 */
class LiveWindowTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ActorTestKit KIT = ActorTestKit.create();
  private static final Materializer MATERIALIZER = Materializer.matFromSystem(KIT.system());
  private static final ScheduledExecutorService EXECUTOR =
      Executors.newSingleThreadScheduledExecutor();

  @AfterAll
  static void stop() {
    EXECUTOR.shutdownNow();
    KIT.shutdownTestKit();
  }

  @Test
  void smoothingCarriedOnAcrossWindowsIsTheStepByStepAverage() throws Exception {
    double halfLife = 37;
    Random random = new Random(3);
    Map<String, StepWeightedEma> reference = new HashMap<>();
    Map<String, double[]> page = new HashMap<>(); // task -> {s0, v0}
    LiveWindow window = new LiveWindow(halfLife);
    int checked = 0;
    for (int step = 1; step <= 3000; step++) {
      String task = "t" + random.nextInt(3);
      double loss = Math.exp(-step / 800.0) + 0.3 * random.nextDouble();
      double expected = reference.computeIfAbsent(task, t -> new StepWeightedEma(halfLife))
          .add(step, loss);
      window.add(step(step, task, loss, "w0", 0.001, 0.0005, 1_000_000 + step));
      boolean last = step == 3000;
      if (last || random.nextInt(50) == 0) {
        JsonNode json = JSON.readTree(window.json());
        for (var entry : (Iterable<Map.Entry<String, JsonNode>>) json.get("tasks")::fields) {
          double[] state = page.get(entry.getKey());
          JsonNode points = entry.getValue().get("points");
          JsonNode latest = points.get(points.size() - 1);
          double fresh = latest.get(5).asDouble();
          double smoothed = state == null ? fresh : fresh + Math.pow(2,
              -(latest.get(1).asDouble() - state[0]) / halfLife)
              * (state[1] - entry.getValue().get("y1").asDouble());
          page.put(entry.getKey(), new double[] {latest.get(1).asDouble(), smoothed});
          checked++;
        }
        for (var held : page.entrySet()) {
          if (json.get("tasks").has(held.getKey())) {
            assertEquals(reference.get(held.getKey()).value(), held.getValue()[1], 1e-9,
                held.getKey() + " at step " + step);
          }
        }
        window = new LiveWindow(halfLife);
      }
    }
    assertTrue(checked > 100, "windows checked: " + checked);
  }

  @Test
  void aWindowKeepsItsLowestHighestAndLastLossInStepOrder() throws Exception {
    LiveWindow window = new LiveWindow(10);
    double[] losses = {0.5, 0.4, 9.0, 0.45, 0.1, 0.3};
    for (int i = 0; i < losses.length; i++) {
      window.add(step(i + 1, "a", losses[i], "w0", 0.001, 0, 1000 + i));
    }
    window.add(TrainingEvent.newBuilder().setSequence(7).setTime(Timestamps.fromMillis(1007))
        .setCheckpointWritten(CheckpointWritten.newBuilder().setStep(6)).build());
    JsonNode json = JSON.readTree(window.json());
    JsonNode task = json.get("tasks").get("a");
    assertEquals(6, task.get("n").asInt());
    assertEquals(1, task.get("s1").asLong());
    assertEquals(0.5, task.get("y1").asDouble());
    List<Double> kept = new ArrayList<>();
    task.get("points").forEach(p -> kept.add(p.get(3).asDouble()));
    assertEquals(List.of(9.0, 0.1, 0.3), kept, "the spike, the lowest and the last, by step");
    assertEquals(1, json.get("first").asLong());
    assertEquals(7, json.get("last").asLong());
    assertEquals(7, json.get("events").asInt());
    assertEquals("checkpointWritten", json.get("others").get(0).get("kind").asText());
  }

  @Test
  void theTimelineSpreadsEachStepsComputeAndQueueOverItsSlots() throws Exception {
    LiveWindow window = new LiveWindow(10);
    // Computed 30 ms up to 10,050 (10,020 to 10,050), queued 15 ms before (10,005 to 10,020).
    window.add(step(1, "a", 1, "w0", 0.030, 0.015, 10_050));
    window.add(step(2, "b", 1, "w1", 0.002, 0, 10_051));
    JsonNode workers = JSON.readTree(window.json()).get("workers");
    Map<Long, double[]> slots = new HashMap<>();
    workers.get("w0").forEach(s -> slots.put(s.get(0).asLong(),
        new double[] {s.get(1).asDouble(), s.get(2).asDouble()}));
    assertEquals(Map.of(10_000L, 15.0, 10_020L, 0.0, 10_040L, 0.0).keySet(), slots.keySet());
    assertEquals(0, slots.get(10_000L)[0], 1e-9);
    assertEquals(15, slots.get(10_000L)[1], 1e-9);
    assertEquals(20, slots.get(10_020L)[0], 1e-9);
    assertEquals(10, slots.get(10_040L)[0], 1e-9);
    assertEquals("a", workers.get("w0").get(1).get(3).asText());
    assertEquals(1, workers.get("w1").size());
  }

  @Test
  void theSummariesCoverEveryEventOnceInAFewMessages() throws Exception {
    int steps = 5000;
    EventLog log = new EventLog("job-1", "live", steps + 10, Instant.now());
    for (int i = 1; i <= steps; i++) {
      log.append(step(i, "t" + (i % 4), 1.0 / i, "w" + (i % 2), 0.0001, 0, 0).toBuilder());
    }
    log.append(TrainingEvent.newBuilder().setJobFinished(JobFinished.newBuilder()
        .setState(JobState.JOB_STATE_SUCCEEDED)));
    List<ServerSentEvent> messages = LiveEvents.summarised(log, 5, EXECUTOR, Duration.ZERO,
        Duration.ofSeconds(10), 50, MATERIALIZER)
        .runWith(Sink.seq(), MATERIALIZER).toCompletableFuture().get(30, TimeUnit.SECONDS);
    // The first read goes out at once, the rest waits for the window or the job's end.
    assertTrue(messages.size() <= 3, messages.size() + " messages");
    long next = 6;
    int events = 0;
    for (ServerSentEvent message : messages) {
      JsonNode json = JSON.readTree(message.getData());
      assertEquals(next, json.get("first").asLong(), "no gap, no overlap");
      next = json.get("last").asLong() + 1;
      events += json.get("events").asInt();
      assertEquals(json.get("last").asText(), message.getId().orElseThrow());
    }
    assertEquals(steps + 2, next, "to the job's final event");
    assertEquals(steps + 1 - 5, events);
    JsonNode last = JSON.readTree(messages.get(messages.size() - 1).getData());
    assertEquals("jobFinished", last.get("others").get(0).get("kind").asText());
    assertEquals(0, log.listenerCount(), "done with the log");
  }

  @Test
  void aWindowGoesOutWhenItsTimeComesWithoutFurtherEvents() throws Exception {
    EventLog log = new EventLog("job-2", "live", 1000, Instant.now());
    log.append(step(1, "t", 1, "w", 0.001, 0, 0).toBuilder());
    java.util.concurrent.CompletableFuture<List<ServerSentEvent>> messages =
        LiveEvents.summarised(log, 0, EXECUTOR, Duration.ZERO, Duration.ofMillis(200), 10,
            MATERIALIZER)
        .takeWhile(m -> !m.getId().orElse("").equals("3"), true)
        .runWith(Sink.seq(), MATERIALIZER).toCompletableFuture();
    log.append(step(2, "t", 1, "w", 0.001, 0, 0).toBuilder());
    log.append(step(3, "t", 1, "w", 0.001, 0, 0).toBuilder());
    // Nothing more is appended: the second window goes out by its timer.
    List<ServerSentEvent> got = messages.get(30, TimeUnit.SECONDS);
    assertEquals("3", got.get(got.size() - 1).getId().orElseThrow());
  }

  private static TrainingEvent step(long step, String task, double loss, String worker,
      double computeSeconds, double queueSeconds, long millis) {
    return TrainingEvent.newBuilder().setSequence(step).setTime(Timestamps.fromMillis(millis))
        .setStepCompleted(StepCompleted.newBuilder().setStep(step).setTask(task).setLoss(loss)
            .setExamples(4).setWorker(worker)
            .setComputeTime(Durations.fromNanos((long) (computeSeconds * 1e9)))
            .setQueueTime(Durations.fromNanos((long) (queueSeconds * 1e9))))
        .build();
  }
}
