package tandem.orchestrator.http;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
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
 * browser reconnects), then live, ending after the job's final event. Every message's id is the
 * sequence number of the last event it covers, so a reconnecting client resumes exactly after
 * the last event it got. Two forms:
 * <ul>
 *   <li>{@link #after}: every event, those of one read of the log as one message whose data is
 *       a JSON array of them ({@link EventJson}). One message per read rather than per event: a
 *       job of thousands of steps a second otherwise costs the server a chunk, a write and an
 *       encoding per step.
 *   <li>{@link #summarised}: what the job page draws, at most one message per {@code window}
 *       ({@link LiveWindow}: per task the lowest, highest and last loss with the smoothed one,
 *       of the tasks the page shows when it asks for some, per worker its timeline, the other
 *       events whole). The page's cost no longer grows with
 *       the job's step rate: parsing and keeping every step event took a browser on the
 *       training machine about 40% of a core at 5,000 steps a second.
 * </ul>
 *
 * <p>Flow control: the messages go through a bounded queue into the HTTP response; once it holds
 * {@link #QUEUE} messages (each at most {@link EventStream#EVENTS_PER_READ} events, or one
 * window) the stream stops reading the log (the log keeps the events), and it reads on once the
 * connection has taken half of them. The queue has room for two more, since the stream asks
 * whether it may send once per read and a rewind notice goes out as a message of its own. A
 * client that stops reading therefore costs training nothing but the log it already keeps.
 * Should a message not fit all the same, the response fails rather than skip it: the browser
 * reconnects with the last id it got and misses nothing. Thread-safe.
 */
final class LiveEvents {

  static final int QUEUE = 4;

  private LiveEvents() {}

  /** Every event after {@code afterSequence}, a message per read of the log. */
  static Source<ServerSentEvent, NotUsed> after(EventLog log, long afterSequence,
      ScheduledExecutorService executor, Duration linger, Materializer materializer) {
    return stream(log, afterSequence, executor, linger, materializer, EventBatches::new);
  }

  /**
   * The events after {@code afterSequence} summarised by windows of {@code window}, the
   * losses smoothed with {@code halfLife} (job steps), with the points of {@code tasks} only
   * (null: every task's).
   */
  static Source<ServerSentEvent, NotUsed> summarised(EventLog log, long afterSequence,
      ScheduledExecutorService executor, Duration linger, Duration window, double halfLife,
      java.util.Set<String> tasks, Materializer materializer) {
    return stream(log, afterSequence, executor, linger, materializer,
        queue -> new Windows(queue, executor, window, halfLife, tasks));
  }

  private static Source<ServerSentEvent, NotUsed> stream(EventLog log, long afterSequence,
      ScheduledExecutorService executor, Duration linger, Materializer materializer,
      Function<BoundedSourceQueue<ServerSentEvent>, QueueSubscriber> subscriberOf) {
    Pair<BoundedSourceQueue<ServerSentEvent>, Source<ServerSentEvent, NotUsed>> queued =
        Source.<ServerSentEvent>queue(QUEUE + 2).preMaterialize(materializer);
    QueueSubscriber subscriber = subscriberOf.apply(queued.first());
    EventStream stream = new EventStream(log, afterSequence, 0, subscriber, executor, linger);
    return queued.second()
        .map(message -> {
          subscriber.taken();
          return message;
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

  private static ServerSentEvent message(String data, long lastSequence) {
    return ServerSentEvent.create(data, Optional.empty(), Optional.of(Long.toString(lastSequence)),
        OptionalInt.empty());
  }

  /** The queue into the HTTP response, seen as an {@link EventStream.Subscriber}. */
  private abstract static class QueueSubscriber implements EventStream.Subscriber {

    final BoundedSourceQueue<ServerSentEvent> queue;
    private final AtomicBoolean waiting = new AtomicBoolean();
    private volatile Runnable onReady = () -> {};
    private volatile Runnable onCancel = () -> {};

    QueueSubscriber(BoundedSourceQueue<ServerSentEvent> queue) {
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

    /** Puts {@code message} (events {@code first} to {@code last}) in the queue, or fails it. */
    final void offer(ServerSentEvent message, long first, long last) {
      QueueOfferResult result = queue.offer(message);
      if (result == QueueOfferResult.dropped()) {
        queue.fail(new IllegalStateException("events " + first + " to " + last
            + " did not fit the connection's queue"));
        cancelled();
      } else if (result != QueueOfferResult.enqueued()) {
        cancelled();
      }
    }

    @Override
    public void setOnReadyHandler(Runnable handler) {
      onReady = handler;
    }

    @Override
    public void setOnCancelHandler(Runnable handler) {
      onCancel = handler;
    }

    /** The connection took a message from the queue. */
    final void taken() {
      if (waiting.get() && queue.size() <= QUEUE / 2 && waiting.compareAndSet(true, false)) {
        onReady.run();
      }
    }

    final void cancelled() {
      onCancel.run();
    }
  }

  /** Each read of the log as one message of its events. */
  private static final class EventBatches extends QueueSubscriber {

    /** Events sent since the last flush; only the stream's draining thread touches it. */
    private List<TrainingEvent> pending = new ArrayList<>();

    EventBatches(BoundedSourceQueue<ServerSentEvent> queue) {
      super(queue);
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
      long last = batch.get(batch.size() - 1).getSequence();
      offer(message(EventJson.writeAll(batch), last), batch.get(0).getSequence(), last);
    }

    @Override
    public void complete() {
      flush();
      queue.complete();
    }
  }

  /**
   * The events gathered into a {@link LiveWindow} that goes out once {@code window} has passed
   * since the previous one: at a flush of the stream when it has, otherwise by a timer then
   * (unless the connection is behind; the stream's next read flushes it when it catches up). The
   * stream's thread and the timer take turns under this object's lock.
   */
  private static final class Windows extends QueueSubscriber {

    private final ScheduledExecutorService executor;
    private final long windowNanos;
    private final double halfLife;
    private final java.util.Set<String> tasks;
    private LiveWindow current;
    private long sentAt = System.nanoTime() - Long.MAX_VALUE / 4;
    private boolean timerSet;
    private boolean completed;

    Windows(BoundedSourceQueue<ServerSentEvent> queue, ScheduledExecutorService executor,
        Duration window, double halfLife, java.util.Set<String> tasks) {
      super(queue);
      this.executor = executor;
      this.windowNanos = window.toNanos();
      this.halfLife = halfLife;
      this.tasks = tasks;
      this.current = new LiveWindow(halfLife, tasks);
    }

    @Override
    public synchronized void send(TrainingEvent event) {
      current.add(event);
    }

    @Override
    public synchronized void flush() {
      if (current.isEmpty()) {
        return;
      }
      long due = sentAt + windowNanos - System.nanoTime();
      if (due <= 0) {
        sendWindow();
      } else if (!timerSet) {
        timerSet = true;
        try {
          executor.schedule(this::onTimer, due, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
          // The server is shutting down: nobody to send to.
          timerSet = false;
        }
      }
    }

    private synchronized void onTimer() {
      timerSet = false;
      if (!completed && !current.isEmpty() && queue.size() < QUEUE) {
        sendWindow();
      }
    }

    private void sendWindow() {
      LiveWindow window = current;
      current = new LiveWindow(halfLife, tasks);
      sentAt = System.nanoTime();
      offer(message(window.json(), window.last()), window.first(), window.last());
    }

    @Override
    public synchronized void complete() {
      completed = true;
      if (!current.isEmpty()) {
        sendWindow();
      }
      queue.complete();
    }
  }
}
