package tandem.orchestrator.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.stub.ServerCallStreamObserver;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobState;
import tandem.api.v1.StepCompleted;
import tandem.api.v1.TrainingEvent;
import tandem.orchestrator.job.EventLog;

/**
 * How {@link EventStream} batches live events: the first event appended after a send schedules
 * one delayed send (the linger), later ones ride along, the streams of a shared pacing go out
 * together in one task, and what is there at the start or when the client can take more goes out
 * at once. The executor here runs immediate work inline and
 * keeps delayed work until the test runs it, so nothing depends on timing.
 */
class EventStreamLingerTest {

  private final ManualExecutor executor = new ManualExecutor();
  private final RecordingCall call = new RecordingCall();
  private final EventLog log = new EventLog("job-1", "linger", 100, Instant.now());

  @AfterEach
  void shutdown() {
    executor.shutdownNow();
  }

  @Test
  void eventsAppendedDuringTheLingerGoOutTogetherAfterIt() {
    step(1);
    new EventStream(log, 0, 0, call, executor, EventPacing.fixed(Duration.ofMillis(20))).start();
    assertEquals(List.of(1L), call.sequences(), "what is there at the start goes out at once");

    for (long s = 2; s <= 6; s++) {
      step(s);
    }
    assertEquals(List.of(TimeUnit.MILLISECONDS.toNanos(20)), executor.delays,
        "one delayed send for the five events");
    assertEquals(List.of(1L), call.sequences(), "nothing before the linger is over");
    executor.runDelayed();
    assertEquals(LongStream.rangeClosed(1, 6).boxed().toList(), call.sequences());

    log.append(TrainingEvent.newBuilder().setJobFinished(JobFinished.newBuilder()
        .setState(JobState.JOB_STATE_SUCCEEDED)));
    assertEquals(2, executor.delays.size(), "a new batch after the last send");
    executor.runDelayed();
    assertEquals(7, call.sequences().size());
    assertTrue(call.completed, "the stream ends after the job's last event");
  }

  @Test
  void withoutALingerEachEventGoesOutAtOnce() {
    new EventStream(log, 0, 0, call, executor, EventPacing.fixed(Duration.ZERO)).start();
    step(1);
    step(2);
    assertEquals(List.of(1L, 2L), call.sequences());
    assertEquals(List.of(), executor.delays);
  }

  @Test
  void aClientReadyAgainGetsWhatWaitedAtOnce() {
    call.ready = false;
    new EventStream(log, 0, 0, call, executor, EventPacing.fixed(Duration.ofMillis(20))).start();
    step(1);
    step(2);
    executor.runDelayed();
    assertEquals(List.of(), call.sequences(), "flow control: the client cannot take any");
    call.ready = true;
    call.onReady.run();
    assertEquals(List.of(1L, 2L), call.sequences());
  }

  @Test
  void aPacedLingerGrowsWithTheOpenStreamsAndEachStreamsEndGivesItsShareBack() {
    // 100 sends a second together: up to 2 streams keep the 20 ms linger, 5 get 50 ms.
    EventPacing pacing = EventPacing.shared(Duration.ofMillis(20), Duration.ofMillis(40), 100);
    List<RecordingCall> calls = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      RecordingCall follower = new RecordingCall();
      calls.add(follower);
      new EventStream(log, 0, 0, follower, executor, pacing).start();
      if (i == 1) {
        assertEquals(Duration.ofMillis(20), pacing.linger(), "2 streams: 20 sends a second");
      }
    }
    assertEquals(5, pacing.openStreams());
    assertEquals(Duration.ofMillis(40), pacing.linger(), "5 streams would want 50 ms: at most 40");

    step(1);
    assertEquals(List.of(TimeUnit.MILLISECONDS.toNanos(40)), executor.delays,
        "the streams' batches linger the paced time and go out together, in one task");
    calls.get(0).onCancel.run();
    calls.get(0).onCancel.run();
    assertEquals(4, pacing.openStreams(), "a cancelled stream counts once, however often told");
    assertEquals(Duration.ofMillis(40), pacing.linger());
    calls.get(1).onCancel.run();
    calls.get(2).onCancel.run();
    assertEquals(Duration.ofMillis(20), pacing.linger(), "2 streams: the least again");

    executor.runDelayed();
    log.append(TrainingEvent.newBuilder().setJobFinished(JobFinished.newBuilder()
        .setState(JobState.JOB_STATE_SUCCEEDED)));
    executor.runDelayed();
    assertTrue(calls.get(3).completed && calls.get(4).completed);
    assertEquals(0, pacing.openStreams(), "streams that sent the job's end are closed");
    assertEquals(List.of(1L, 2L), calls.get(3).sequences());
    assertEquals(List.of(), calls.get(1).sequences(), "a cancelled stream gets nothing more");
  }

  @Test
  void aStreamWhoseSendFailsDoesNotHoldUpTheOthersGoingOutWithIt() {
    EventPacing pacing = EventPacing.shared(Duration.ofMillis(20), Duration.ofMillis(20), 0);
    RecordingCall broken = new RecordingCall();
    RecordingCall healthy = new RecordingCall();
    new EventStream(log, 0, 0, broken, executor, pacing).start();
    new EventStream(log, 0, 0, healthy, executor, pacing).start();
    broken.failing = true;
    step(1);
    step(2);
    assertEquals(1, executor.delays.size(), "one task for both streams' batches");
    executor.runDelayed();
    assertEquals(List.of(1L, 2L), healthy.sequences());
    assertEquals(List.of(), broken.sequences());

    step(3);
    assertEquals(2, executor.delays.size(), "the next batch is scheduled anew");
    executor.runDelayed();
    assertEquals(List.of(1L, 2L, 3L), healthy.sequences());
  }

  private void step(long step) {
    log.append(TrainingEvent.newBuilder().setStepCompleted(StepCompleted.newBuilder()
        .setStep(step).setTask("t").setLoss(1.0 / step)));
  }

  /** Runs {@code execute} inline; keeps scheduled work until {@link #runDelayed}. */
  private static final class ManualExecutor extends ScheduledThreadPoolExecutor {
    final List<Long> delays = new ArrayList<>();
    private final List<Runnable> delayed = new ArrayList<>();

    ManualExecutor() {
      super(1);
    }

    @Override
    public void execute(Runnable command) {
      command.run();
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
      delays.add(unit.toNanos(delay));
      delayed.add(command);
      return null;
    }

    void runDelayed() {
      List<Runnable> due = new ArrayList<>(delayed);
      delayed.clear();
      due.forEach(Runnable::run);
    }
  }

  /** A server call that records what is sent, ready while {@link #ready}. */
  private static final class RecordingCall extends ServerCallStreamObserver<TrainingEvent> {
    final List<TrainingEvent> sent = new ArrayList<>();
    volatile boolean ready = true;
    boolean failing;
    boolean completed;
    Runnable onReady = () -> { };
    Runnable onCancel = () -> { };

    List<Long> sequences() {
      return sent.stream().map(TrainingEvent::getSequence).toList();
    }

    @Override
    public boolean isReady() {
      return ready;
    }

    @Override
    public void setOnReadyHandler(Runnable handler) {
      onReady = handler;
    }

    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public void setOnCancelHandler(Runnable handler) {
      onCancel = handler;
    }

    @Override
    public void setCompression(String compression) {}

    @Override
    public void request(int count) {}

    @Override
    public void setMessageCompression(boolean enable) {}

    @Override
    public void disableAutoInboundFlowControl() {}

    @Override
    public void onNext(TrainingEvent value) {
      if (failing) {
        throw new IllegalStateException("the call is broken");
      }
      sent.add(value);
    }

    @Override
    public void onError(Throwable t) {
      throw new AssertionError("unexpected error", t);
    }

    @Override
    public void onCompleted() {
      completed = true;
    }
  }
}
