package tandem.orchestrator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import tandem.api.v1.JobSpec;
import tandem.api.v1.StopCondition;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingEventBatch;
import tandem.api.v1.TrainingServiceGrpc;
import tandem.orchestrator.grpc.EventStream;

/** Two subscribers on one job: one from the start, one resuming after a sequence number. */
class EventStreamTest {

  @RegisterExtension
  static final RunningServer running = new RunningServer(2);

  /** Submits the arithmetic example for 300 steps; its id. */
  private static String submitArithmetic(TrainingServiceGrpc.TrainingServiceBlockingStub stub) {
    JobSpec spec = Specs.example("arithmetic").toBuilder()
        .setStop(StopCondition.newBuilder().setMaxSteps(300)).build();
    return stub.submitJob(SubmitJobRequest.newBuilder().setSpec(spec).build()).getJobId();
  }

  @Test
  void resumingSubscriberGetsEveryLaterEventOnceAndInOrder() throws Exception {
    TrainingServiceGrpc.TrainingServiceBlockingStub blocking =
        TrainingServiceGrpc.newBlockingStub(running.channel());
    String jobId = submitArithmetic(blocking);

    // The first subscriber starts at once; once it has seen event 20 the second one resumes
    // after 10 while training is still going, so it gets both logged and live events.
    long resumeAfter = 10;
    List<TrainingEvent> fromStart = new CopyOnWriteArrayList<>();
    List<TrainingEvent> resumed = new CopyOnWriteArrayList<>();
    CompletableFuture<Void> firstDone = new CompletableFuture<>();
    CompletableFuture<Void> secondDone = new CompletableFuture<>();
    TrainingServiceGrpc.TrainingServiceStub async = TrainingServiceGrpc.newStub(running.channel());
    async.streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId).build(),
        collector(fromStart, firstDone, event -> {
          if (event.getSequence() == 20) {
            async.streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId)
                .setAfterSequence(resumeAfter).build(), collector(resumed, secondDone, e -> { }));
          }
        }));
    firstDone.get(2, TimeUnit.MINUTES);
    secondDone.get(2, TimeUnit.MINUTES);

    long last = fromStart.get(fromStart.size() - 1).getSequence();
    assertTrue(fromStart.get(fromStart.size() - 1).hasJobFinished());
    assertEquals(LongStream.rangeClosed(1, last).boxed().toList(),
        fromStart.stream().map(TrainingEvent::getSequence).toList());
    assertEquals(LongStream.rangeClosed(resumeAfter + 1, last).boxed().toList(),
        resumed.stream().map(TrainingEvent::getSequence).toList());
    assertEquals(fromStart.subList((int) resumeAfter, fromStart.size()), resumed);
  }

  @Test
  void batchesCarryTheSameEventsInOrderSeveralToAMessage() throws Exception {
    TrainingServiceGrpc.TrainingServiceBlockingStub blocking =
        TrainingServiceGrpc.newBlockingStub(running.channel());
    String jobId = submitArithmetic(blocking);

    // Live from the start, then once more from after event 5 when the log is complete.
    List<TrainingEventBatch> live = new ArrayList<>();
    blocking.streamEventBatches(StreamEventsRequest.newBuilder().setJobId(jobId).build())
        .forEachRemaining(live::add);
    List<TrainingEvent> events = new ArrayList<>();
    blocking.streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId).build())
        .forEachRemaining(events::add);
    List<TrainingEventBatch> replayed = new ArrayList<>();
    blocking.streamEventBatches(StreamEventsRequest.newBuilder().setJobId(jobId)
        .setAfterSequence(5).build()).forEachRemaining(replayed::add);

    assertEquals(events, live.stream().flatMap(b -> b.getEventsList().stream()).toList());
    assertEquals(events.subList(5, events.size()),
        replayed.stream().flatMap(b -> b.getEventsList().stream()).toList());
    assertTrue(live.stream().allMatch(b -> b.getEventsCount() > 0), "no empty batch");
    assertTrue(live.size() < events.size() / 2,
        live.size() + " messages for " + events.size() + " events");
    assertTrue(replayed.size() <= (events.size() - 5 + EventStream.EVENTS_PER_READ - 1)
        / EventStream.EVENTS_PER_READ, "a finished log goes out a read to a message");
  }

  private static StreamObserver<TrainingEvent> collector(List<TrainingEvent> into,
      CompletableFuture<Void> done, java.util.function.Consumer<TrainingEvent> onEach) {
    return new StreamObserver<>() {
      @Override
      public void onNext(TrainingEvent event) {
        into.add(event);
        onEach.accept(event);
      }

      @Override
      public void onError(Throwable error) {
        done.completeExceptionally(error);
      }

      @Override
      public void onCompleted() {
        done.complete(null);
      }
    };
  }
}
