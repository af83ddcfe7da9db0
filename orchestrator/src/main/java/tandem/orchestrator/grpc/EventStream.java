package tandem.orchestrator.grpc;

import com.google.protobuf.CodedOutputStream;
import io.grpc.stub.ServerCallStreamObserver;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import tandem.api.v1.EventsMissed;
import tandem.api.v1.LogRewound;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingEventBatch;
import tandem.orchestrator.job.EventLog;

/**
 * One subscriber of a job's events: sends the log from a sequence number on, as fast as the
 * client reads ({@link ServerCallStreamObserver#isReady()}), then live events as they are
 * appended, and completes after the job's final event. It pulls from the log instead of being
 * pushed to, so a slow client costs training nothing; if it falls behind the log's retained
 * window it gets an {@code events_missed} event and goes on from the oldest retained one. Stops
 * when the client cancels. A subscriber whose events past some number are no longer the log's
 * (the job resumed from a checkpoint since it read them: {@link EventLog#rewoundTo}) first gets a
 * {@code log_rewound} event naming the number the log was rewound to, then the log from the
 * next one. Live events linger a moment before they go out ({@link EventPacing}: fixed, or
 * longer while many streams are open), so that the events of many steps travel together: one
 * wake-up of this stream's thread, one write and one flush per batch instead of per step, which
 * on a 2-core machine took CPU from the steps themselves.
 *
 * <p>The gRPC call is one kind of {@link Subscriber}; the dashboard's Server-Sent Events
 * ({@code tandem.orchestrator.http}) are another, so both read the log the same way.
 *
 * <p>Thread-safe: wake-ups come from the coordinator, the subscriber's ready and cancel
 * callbacks; a work-in-progress counter makes sure only one thread drains at a time.
 */
public final class EventStream {

  /** Where a stream's events go, with the flow control of a gRPC server call. */
  public interface Subscriber {

    /** Whether it can take an event now; once it said no, it calls its ready handler later. */
    boolean isReady();

    void send(TrainingEvent event);

    /** Sends the events of {@code slice} ({@link EventLog.Slice#events()} one by one, unless
     *  it can send them as the log holds them, serialized). */
    default void send(EventLog.Slice slice) {
      slice.events().forEach(this::send);
    }

    /**
     * The events sent since the last flush were read together and may go out together (one
     * message, one write); called after each read of the log and before {@link #complete()}.
     */
    default void flush() {}

    /** The job's final event was sent. */
    void complete();

    /** What to run when it can take events again after {@link #isReady()} said no. */
    void setOnReadyHandler(Runnable handler);

    /** What to run when it went away (the client cancelled or disconnected). */
    void setOnCancelHandler(Runnable handler);
  }

  /** Events sent per look at {@link Subscriber#isReady()}: a subscriber must take this many. */
  public static final int EVENTS_PER_READ = 256;

  private final EventLog log;
  private final Subscriber call;
  private final ScheduledExecutorService executor;
  private final EventPacing pacing;
  private final AtomicBoolean ended = new AtomicBoolean();
  private final AtomicInteger wip = new AtomicInteger();
  private final Runnable wake = this::wake;
  private final Runnable appended = this::appended;
  private final Runnable drain = this::drain;
  private final long afterIncarnation;
  private long position;
  private boolean rewindChecked;
  private volatile boolean finished;

  EventStream(EventLog log, long afterSequence, long afterIncarnation,
      ServerCallStreamObserver<TrainingEvent> call, ScheduledExecutorService executor,
      EventPacing pacing) {
    this(log, afterSequence, afterIncarnation, grpcCall(call), executor, pacing);
  }

  /**
   * A gRPC call whose responses are serialized events ({@link SerializedEvents}): each event of
   * the log goes out as the bytes the log holds it in, the same for all its subscribers.
   */
  static EventStream serialized(EventLog log, long afterSequence, long afterIncarnation,
      ServerCallStreamObserver<byte[]> call, ScheduledExecutorService executor,
      EventPacing pacing) {
    return new EventStream(log, afterSequence, afterIncarnation, new SerializedCall(call),
        executor, pacing);
  }

  /**
   * A stream of {@code log}'s events after {@code afterSequence} to {@code subscriber}, which got
   * that event from a log of incarnation {@code afterIncarnation} (0: the job's first run, or not
   * known), live events lingering {@code linger}; nothing is sent before {@link #start()}.
   */
  public EventStream(EventLog log, long afterSequence, long afterIncarnation,
      Subscriber subscriber, ScheduledExecutorService executor, Duration linger) {
    this(log, afterSequence, afterIncarnation, subscriber, executor, EventPacing.fixed(linger));
  }

  /** As above, live events lingering as long as {@code pacing} says when each batch starts. */
  public EventStream(EventLog log, long afterSequence, long afterIncarnation,
      Subscriber subscriber, ScheduledExecutorService executor, EventPacing pacing) {
    this.log = log;
    this.position = afterSequence;
    this.afterIncarnation = afterIncarnation;
    this.call = subscriber;
    this.executor = executor;
    this.pacing = pacing;
  }

  /** Registers the callbacks and sends what is there; call on the gRPC call's own thread. */
  public void start() {
    pacing.opened();
    call.setOnCancelHandler(this::end);
    call.setOnReadyHandler(wake);
    log.addListener(appended);
    wake();
  }

  /** Sends what there is now (start, or the client can take more). */
  private void wake() {
    send(false);
  }

  /** A new event in the log: sent after the linger, with the events appended meanwhile. */
  private void appended() {
    send(true);
  }

  /** Sends nothing more: finished, cancelled, or the server is stopping. */
  private void end() {
    finished = true;
    if (ended.compareAndSet(false, true)) {
      log.removeListener(appended);
      pacing.closed();
    }
  }

  /**
   * Schedules a drain, after the linger (with the other streams' batches of the pacing) or at
   * once, unless one is scheduled or running (the linger is read only then: this runs on the
   * coordinator's thread for every event).
   */
  private void send(boolean linger) {
    if (!finished && wip.getAndIncrement() == 0) {
      try {
        if (linger) {
          pacing.later(drain, executor);
        } else {
          executor.execute(drain);
        }
      } catch (RejectedExecutionException e) {
        // The server is shutting down and its calls are being cancelled: nobody to send to.
        end();
      }
    }
  }

  private void drain() {
    int missed = 1;
    do {
      sendWhileReady();
      missed = wip.addAndGet(-missed);
    } while (missed != 0);
  }

  private void sendWhileReady() {
    if (!rewindChecked && !finished && call.isReady()) {
      rewindChecked = true;
      long rewoundTo = log.rewoundTo(position, afterIncarnation);
      if (rewoundTo >= 0) {
        call.send(TrainingEvent.newBuilder()
            .setSequence(rewoundTo)
            .setJobId(log.jobId())
            .setIncarnation(log.incarnation())
            .setLogRewound(LogRewound.newBuilder()
                .setAfterSequence(position).setAfterIncarnation(afterIncarnation)
                .setRewoundTo(rewoundTo).setIncarnation(log.incarnation()))
            .build());
        call.flush();
        position = rewoundTo;
      }
    }
    while (!finished && call.isReady()) {
      EventLog.Slice slice = log.read(position, EVENTS_PER_READ);
      if (slice.missed()) {
        call.send(TrainingEvent.newBuilder()
            .setSequence(slice.lastMissed())
            .setJobId(log.jobId())
            .setIncarnation(log.incarnation())
            .setEventsMissed(EventsMissed.newBuilder()
                .setFirstMissed(slice.firstMissed()).setLastMissed(slice.lastMissed()))
            .build());
        position = slice.lastMissed();
      }
      if (!slice.serialized().isEmpty()) {
        call.send(slice);
        position = slice.lastSequence();
      }
      call.flush();
      if (slice.complete()) {
        end();
        call.complete();
        return;
      }
      if (slice.serialized().isEmpty()) {
        return;
      }
    }
  }

  /**
   * A gRPC call whose responses are serialized {@code TrainingEventBatch}es: the events of one
   * read of the log go out as one message, built from the bytes the log holds them in, the same
   * for all subscribers (a batch's wire form is its events' bytes, each behind its field tag and
   * length). A message costs the server's transport several microseconds whatever its
   * size, so a batch of a hundred events costs about what one event did.
   */
  static EventStream batched(EventLog log, long afterSequence, long afterIncarnation,
      ServerCallStreamObserver<byte[]> call, ScheduledExecutorService executor,
      EventPacing pacing) {
    return new EventStream(log, afterSequence, afterIncarnation, new BatchingCall(call),
        executor, pacing);
  }

  /** Events gathered until a flush, then sent as one serialized {@code TrainingEventBatch}. */
  private static final class BatchingCall extends BytesCall {

    private final List<byte[]> pending = new ArrayList<>();
    private int size;

    BatchingCall(ServerCallStreamObserver<byte[]> call) {
      super(call);
    }

    @Override
    void send(byte[] event) {
      pending.add(event);
      size += CodedOutputStream.computeByteArraySize(
          TrainingEventBatch.EVENTS_FIELD_NUMBER, event);
    }

    @Override
    public void flush() {
      if (pending.isEmpty()) {
        return;
      }
      byte[] batch = new byte[size];
      CodedOutputStream out = CodedOutputStream.newInstance(batch);
      try {
        for (byte[] event : pending) {
          out.writeByteArray(TrainingEventBatch.EVENTS_FIELD_NUMBER, event);
        }
        out.checkNoSpaceLeft();
      } catch (IOException e) {
        throw new IllegalStateException("a batch of " + pending.size() + " events", e);
      }
      pending.clear();
      size = 0;
      call.onNext(batch);
    }
  }

  private static Subscriber grpcCall(ServerCallStreamObserver<TrainingEvent> call) {
    return new GrpcSubscriber<>(call) {
      @Override
      public void send(TrainingEvent event) {
        call.onNext(event);
      }
    };
  }

  /** A message an event, each as the bytes the log holds it in. */
  private static final class SerializedCall extends BytesCall {

    SerializedCall(ServerCallStreamObserver<byte[]> call) {
      super(call);
    }

    @Override
    void send(byte[] event) {
      call.onNext(event);
    }
  }

  /**
   * A gRPC call whose responses are bytes: the log's events go as the log holds them, an event
   * made for this subscriber (a missed range, a rewind) serialized here.
   */
  private abstract static class BytesCall extends GrpcSubscriber<byte[]> {

    BytesCall(ServerCallStreamObserver<byte[]> call) {
      super(call);
    }

    /** Sends one serialized event. */
    abstract void send(byte[] event);

    @Override
    public final void send(TrainingEvent event) {
      send(event.toByteArray());
    }

    @Override
    public final void send(EventLog.Slice slice) {
      slice.serialized().forEach(this::send);
    }
  }

  /** A gRPC server call as a {@link Subscriber}: its flow control, cancellation and end. */
  private abstract static class GrpcSubscriber<T> implements Subscriber {

    final ServerCallStreamObserver<T> call;

    GrpcSubscriber(ServerCallStreamObserver<T> call) {
      this.call = call;
    }

    @Override
    public boolean isReady() {
      return call.isReady();
    }

    @Override
    public void complete() {
      flush();
      call.onCompleted();
    }

    @Override
    public void setOnReadyHandler(Runnable handler) {
      call.setOnReadyHandler(handler);
    }

    @Override
    public void setOnCancelHandler(Runnable handler) {
      call.setOnCancelHandler(handler);
    }
  }
}
