package tandem.orchestrator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobState;
import tandem.api.v1.StepCompleted;
import tandem.api.v1.TrainingEvent;
import tandem.orchestrator.grpc.EventStream;
import tandem.orchestrator.job.EventLog;

/**
 * The dashboard's event streams: flow control through their bounded queue, cancellation, and the
 * live summaries covering every event once in a few messages, on time.
 */
class LiveEventsTest {

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
  void manyMoreEventsThanTheQueueHoldsAllArriveInOrderOnceEach() throws Exception {
    int steps = 3 * LiveEvents.QUEUE * EventStream.EVENTS_PER_READ;
    EventLog log = new EventLog("job-1", "live", steps + 10, Instant.now());
    for (int i = 1; i <= steps; i++) {
      step(log, i);
    }
    log.append(TrainingEvent.newBuilder().setJobFinished(JobFinished.newBuilder()
        .setState(JobState.JOB_STATE_SUCCEEDED)));
    List<ServerSentEvent> events = LiveEvents.after(log, 5, EXECUTOR, Duration.ZERO, MATERIALIZER)
        .runWith(Sink.seq(), MATERIALIZER).toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertEquals(LongStream.rangeClosed(6, steps + 1).boxed().toList(),
        events.stream().flatMap(e -> sequences(e).stream()).toList(),
        "the stream read on each time the connection took half the queue, to the job's end");
    for (ServerSentEvent event : events) {
      List<Long> batch = sequences(event);
      assertTrue(batch.size() <= EventStream.EVENTS_PER_READ, "a read of the log to a message");
      assertEquals(batch.get(batch.size() - 1), Long.parseLong(event.getId().orElseThrow()),
          "a message's id is its last event's number");
    }
    assertTrue(events.get(0).getData().startsWith("[{\"seq\":6,"), events.get(0).getData());
    assertEquals(0, log.listenerCount(), "done with the log");
  }

  @Test
  void aConnectionThatGoesAwayStopsFollowingTheLog() throws Exception {
    EventLog log = new EventLog("job-2", "live", 1000, Instant.now());
    step(log, 1);
    java.util.concurrent.CompletableFuture<List<ServerSentEvent>> first =
        LiveEvents.after(log, 0, EXECUTOR, Duration.ZERO, MATERIALIZER)
        .takeWhile(event -> !sequences(event).contains(3L), true)
        .runWith(Sink.seq(), MATERIALIZER).toCompletableFuture();
    step(log, 2);
    step(log, 3);
    assertEquals(List.of(1L, 2L, 3L), first.get(30, TimeUnit.SECONDS).stream()
        .flatMap(e -> sequences(e).stream()).toList());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (log.listenerCount() > 0 && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertEquals(0, log.listenerCount(), "the log no longer wakes a stream nobody reads");
  }

  @Test
  void theSummariesCoverEveryEventOnceInAFewMessages() throws Exception {
    int steps = 5000;
    EventLog log = new EventLog("job-1", "live", steps + 10, Instant.now());
    for (int i = 1; i <= steps; i++) {
      log.append(LiveWindowTest.step(i, "t" + (i % 4), 1.0 / i, "w" + (i % 2), 0.0001, 0, 0)
          .toBuilder());
    }
    log.append(TrainingEvent.newBuilder().setJobFinished(JobFinished.newBuilder()
        .setState(JobState.JOB_STATE_SUCCEEDED)));
    // The page asks for the points of the tasks it shows: here two of the four.
    List<ServerSentEvent> messages = LiveEvents.summarised(log, 5, EXECUTOR, Duration.ZERO,
        Duration.ofSeconds(10), 50, java.util.Set.of("t1", "t3"), MATERIALIZER)
        .runWith(Sink.seq(), MATERIALIZER).toCompletableFuture().get(30, TimeUnit.SECONDS);
    // The first read goes out at once, the rest waits for the window or the job's end.
    assertTrue(messages.size() <= 3, messages.size() + " messages");
    long next = 6;
    int events = 0;
    for (ServerSentEvent message : messages) {
      JsonNode json = new ObjectMapper().readTree(message.getData());
      assertEquals(next, json.get("first").asLong(), "no gap, no overlap");
      next = json.get("last").asLong() + 1;
      events += json.get("events").asInt();
      assertEquals(json.get("last").asText(), message.getId().orElseThrow());
      List<String> tasks = new java.util.ArrayList<>();
      json.get("tasks").fieldNames().forEachRemaining(tasks::add);
      assertTrue(List.of("t1", "t3").containsAll(tasks), "only the tasks asked for: " + tasks);
      if (json.get("events").asInt() > 100) {
        assertEquals(2, tasks.size(), tasks.toString());
        assertEquals(2, json.get("workers").size(), "the timeline counts every step");
      }
    }
    assertEquals(steps + 2, next, "to the job's final event");
    assertEquals(steps + 1 - 5, events);
    JsonNode last = new ObjectMapper().readTree(messages.get(messages.size() - 1).getData());
    assertEquals("jobFinished", last.get("others").get(0).get("kind").asText());
    assertEquals(0, log.listenerCount(), "done with the log");
  }

  @Test
  void aWindowGoesOutWhenItsTimeComesWithoutFurtherEvents() throws Exception {
    EventLog log = new EventLog("job-2", "live", 1000, Instant.now());
    log.append(LiveWindowTest.step(1, "t", 1, "w", 0.001, 0, 0).toBuilder());
    java.util.concurrent.CompletableFuture<List<ServerSentEvent>> messages =
        LiveEvents.summarised(log, 0, EXECUTOR, Duration.ZERO, Duration.ofMillis(200), 10,
            null, MATERIALIZER)
        .takeWhile(m -> !m.getId().orElse("").equals("3"), true)
        .runWith(Sink.seq(), MATERIALIZER).toCompletableFuture();
    log.append(LiveWindowTest.step(2, "t", 1, "w", 0.001, 0, 0).toBuilder());
    log.append(LiveWindowTest.step(3, "t", 1, "w", 0.001, 0, 0).toBuilder());
    // Nothing more is appended: the second window goes out by its timer.
    List<ServerSentEvent> got = messages.get(30, TimeUnit.SECONDS);
    assertEquals("3", got.get(got.size() - 1).getId().orElseThrow());
  }

  /** The sequence numbers of the events in one message (a JSON array of events). */
  private static List<Long> sequences(ServerSentEvent event) {
    try {
      List<Long> sequences = new java.util.ArrayList<>();
      new ObjectMapper().readTree(event.getData()).forEach(e -> sequences.add(e.get("seq").asLong()));
      return sequences;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void step(EventLog log, long step) {
    log.append(TrainingEvent.newBuilder().setStepCompleted(StepCompleted.newBuilder()
        .setStep(step).setTask("t").setLoss(1.0 / step).setExamples(4)));
  }
}
