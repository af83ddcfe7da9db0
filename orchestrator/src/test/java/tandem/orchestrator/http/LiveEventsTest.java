package tandem.orchestrator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

/** The dashboard's event stream: flow control through its bounded queue, and cancellation. */
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
