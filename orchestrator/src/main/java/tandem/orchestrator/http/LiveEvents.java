package tandem.orchestrator.http;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Source;
import tandem.api.v1.TrainingEvent;
import tandem.orchestrator.grpc.EventStream;
import tandem.orchestrator.job.EventLog;

/**
 * A job's events as Server-Sent Events, read by the same {@link EventStream} as gRPC's
 * {@code StreamEvents}: from a sequence number on (the page's {@code Last-Event-ID} when the
 * browser reconnects), then live, ending after the job's final event. The events of one read of
 * the log go out as one SSE message whose data is a JSON array of them ({@link EventJson}) and
 * whose id is the last one's sequence number, so a reconnecting page resumes exactly after the
 * last event it got. One message per read rather than per event: a job of thousands of steps a
 * second otherwise costs the server a chunk, a write and an encoding per step, and the page a
 * message dispatch per step.
 *
 * <p>Flow control: the batches go through a bounded queue into the HTTP response; once it holds
 * {@link #QUEUE} batches (each at most {@link EventStream#EVENTS_PER_READ} events) the stream
 * stops reading the log (the log keeps the events), and it reads on once the connection has taken
 * half of them. The queue has room for two more batches, since the stream asks whether it may
 * send once per read and a rewind notice goes out as a batch of its own. A page that stops
 * reading therefore costs training nothing but the log it already keeps. Should a batch not fit
 * all the same, the response fails rather than skip it: the browser reconnects with the last id
 * it got and misses nothing. Thread-safe.
 */
final class LiveEvents {

  static final int QUEUE = 4;

  private LiveEvents() {}

  static Source<ServerSentEvent, NotUsed> after(EventLog log, long afterSequence,
      ScheduledExecutorService executor, Duration linger, Materializer materializer) {
    Pair<BoundedSourceQueue<List<TrainingEvent>>, Source<List<TrainingEvent>, NotUsed>> queued =
        Source.<List<TrainingEvent>>queue(QUEUE + 2).preMaterialize(materializer);
    QueueSubscriber subscriber = new QueueSubscriber(queued.first());
    EventStream stream = new EventStream(log, afterSequence, 0, subscriber, executor, linger);
    return queued.second()
        .map(batch -> {
          subscriber.taken();
          return ServerSentEvent.create(EventJson.writeAll(batch), Optional.empty(),
              Optional.of(Long.toString(batch.get(batch.size() - 1).getSequence())),
              OptionalInt.empty());
        })
        .keepAlive(Duration.ofSeconds(15), () -> ServerSentEvent.heartbeat())
        .watchTermination((notUsed, done) -> {
          done.whenComplete((ok, error) -> subscriber.cancelled());
          return notUsed;
        })
        .mapMaterializedValue(notUsed -> {
          stream.start();
          return notUsed;
        });
  }

  /** The queue into the HTTP response, seen as an {@link EventStream.Subscriber}. */
  private static final class QueueSubscriber implements EventStream.Subscriber {

    private final BoundedSourceQueue<List<TrainingEvent>> queue;
    private final AtomicBoolean waiting = new AtomicBoolean();
    /** Events sent since the last flush; only the stream's draining thread touches it. */
    private List<TrainingEvent> pending = new ArrayList<>();
    private volatile Runnable onReady = () -> {};
    private volatile Runnable onCancel = () -> {};

    QueueSubscriber(BoundedSourceQueue<List<TrainingEvent>> queue) {
      this.queue = queue;
    }

    @Override
    public boolean isReady() {
      if (queue.size() < QUEUE) {
        return true;
      }
      waiting.set(true);
      // The connection may have taken events between the two looks; then nobody would wake us.
      return queue.size() < QUEUE && waiting.compareAndSet(true, false);
    }

    @Override
    public void send(TrainingEvent event) {
      pending.add(event);
    }

    @Override
    public void flush() {
      if (pending.isEmpty()) {
        return;
      }
      List<TrainingEvent> batch = pending;
      pending = new ArrayList<>();
      QueueOfferResult result = queue.offer(batch);
      if (result == QueueOfferResult.dropped()) {
        queue.fail(new IllegalStateException("events " + batch.get(0).getSequence() + " to "
            + batch.get(batch.size() - 1).getSequence() + " did not fit the connection's queue"));
        cancelled();
      } else if (result != QueueOfferResult.enqueued()) {
        cancelled();
      }
    }

    @Override
    public void complete() {
      flush();
      queue.complete();
    }

    @Override
    public void setOnReadyHandler(Runnable handler) {
      onReady = handler;
    }

    @Override
    public void setOnCancelHandler(Runnable handler) {
      onCancel = handler;
    }

    /** The connection took an event from the queue. */
    void taken() {
      if (waiting.get() && queue.size() <= QUEUE / 2 && waiting.compareAndSet(true, false)) {
        onReady.run();
      }
    }

    void cancelled() {
      onCancel.run();
    }
  }
}
