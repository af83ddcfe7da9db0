package tandem.orchestrator.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import tandem.api.v1.EventsMissed;
import tandem.api.v1.TrainingEvent;
import tandem.orchestrator.job.EventLog;

/**
 * One subscriber of a job's events: sends the log from a sequence number on, as fast as the
 * client reads ({@link ServerCallStreamObserver#isReady()}), then live events as they are
 * appended, and completes after the job's final event. It pulls from the log instead of being
 * pushed to, so a slow client costs training nothing; if it falls behind the log's retained
 * window it gets an {@code events_missed} event and goes on from the oldest retained one. Stops
 * when the client cancels.
 *
 * <p>Thread-safe: wake-ups come from the coordinator, gRPC's ready and cancel callbacks; a
 * work-in-progress counter makes sure only one thread drains at a time.
 */
final class EventStream {

  private static final int EVENTS_PER_READ = 256;

  private final EventLog log;
  private final ServerCallStreamObserver<TrainingEvent> call;
  private final Executor executor;
  private final AtomicInteger wip = new AtomicInteger();
  private final Runnable wake = this::wake;
  private long position;
  private volatile boolean finished;

  EventStream(EventLog log, long afterSequence, ServerCallStreamObserver<TrainingEvent> call,
      Executor executor) {
    this.log = log;
    this.position = afterSequence;
    this.call = call;
    this.executor = executor;
  }

  /** Registers the callbacks and sends what is there; call on the gRPC call's own thread. */
  void start() {
    call.setOnCancelHandler(() -> {
      finished = true;
      log.removeListener(wake);
    });
    call.setOnReadyHandler(wake);
    log.addListener(wake);
    wake();
  }

  private void wake() {
    if (!finished && wip.getAndIncrement() == 0) {
      executor.execute(this::drain);
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
    while (!finished && call.isReady()) {
      EventLog.Slice slice = log.read(position, EVENTS_PER_READ);
      if (slice.missed()) {
        call.onNext(TrainingEvent.newBuilder()
            .setSequence(slice.lastMissed())
            .setJobId(log.jobId())
            .setEventsMissed(EventsMissed.newBuilder()
                .setFirstMissed(slice.firstMissed()).setLastMissed(slice.lastMissed()))
            .build());
        position = slice.lastMissed();
      }
      for (TrainingEvent event : slice.events()) {
        call.onNext(event);
        position = event.getSequence();
      }
      if (slice.complete()) {
        finished = true;
        log.removeListener(wake);
        call.onCompleted();
        return;
      }
      if (slice.events().isEmpty()) {
        return;
      }
    }
  }
}
