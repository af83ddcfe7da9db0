package tandem.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import tandem.api.v1.Evaluation;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobState;
import tandem.api.v1.JobStatus;
import tandem.api.v1.TrainingEvent;

class LiveViewTest {

  private final StringWriter text = new StringWriter();
  private final AtomicLong nanos = new AtomicLong();
  private final WatchState state = new WatchState();

  private void feed(LiveView view, TrainingEvent event) {
    state.apply(event);
    view.onEvent(event, state);
  }

  @Test
  void ansiRedrawsInPlaceAtMostOncePerInterval() {
    LiveView view = new LiveView(new PrintWriter(text), true, Duration.ofMillis(200), nanos::get);
    feed(view, WatchStateTest.started(1, 0, 4, "a", "b"));
    feed(view, WatchStateTest.step(2, 100, 1, "a", 1.0));
    int afterFirstFrame = text.toString().length();
    nanos.addAndGet(Duration.ofMillis(50).toNanos());
    feed(view, WatchStateTest.step(3, 200, 2, "b", 2.0));
    assertEquals(afterFirstFrame, text.toString().length(), "redrawn before the interval passed");
    nanos.addAndGet(Duration.ofMillis(200).toNanos());
    feed(view, WatchStateTest.step(4, 300, 3, "a", 3.0));
    // Header, two tasks, progress bar: the next frame moves up four lines first.
    assertTrue(text.toString().substring(afterFirstFrame).startsWith("\033[4F"), text.toString());
  }

  @Test
  void plainModePrintsOneLineWithoutEscapes() {
    LiveView view = new LiveView(new PrintWriter(text), false, Duration.ofSeconds(10), nanos::get);
    feed(view, WatchStateTest.started(1, 0, 4, "a"));
    feed(view, WatchStateTest.step(2, 1000, 1, "a", 0.5));
    feed(view, WatchStateTest.step(3, 2000, 2, "a", 0.5));
    String printed = text.toString();
    assertFalse(printed.contains("\033"), printed);
    assertTrue(printed.contains("step 1/4 (25%) 0:01 elapsed | a loss 0.5000"), printed);
    assertFalse(printed.contains("step 2/4"), "printed again within 10 s:\n" + printed);
  }

  @Test
  void frameShowsTasksAndProgress() {
    state.apply(WatchStateTest.started(1, 0, 10, "binary_plus1"));
    state.apply(WatchStateTest.step(2, 2000, 1, "binary_plus1", 0.25));
    List<String> frame = LiveView.frame(state);
    assertEquals(3, frame.size());
    assertTrue(frame.get(1).matches("binary_plus1 +1 +0\\.2500 +0\\.2500 +0\\.5"), frame.get(1));
    assertEquals("[###...........................]  10%  1/10 steps  0:02 elapsed", frame.get(2));
  }

  @Test
  void endPrintsSummaryAndEvaluations() {
    LiveView view = new LiveView(new PrintWriter(text), false, Duration.ofSeconds(10), nanos::get);
    feed(view, TrainingEvent.newBuilder().setSequence(1).setJobFinished(JobFinished.newBuilder()
        .setState(JobState.JOB_STATE_SUCCEEDED).setSteps(2000).setExamplesPerSecond(1234.4)
        .setElapsed(com.google.protobuf.Duration.newBuilder().setSeconds(75))).build());
    view.onEnd(state, JobStatus.newBuilder().setJobId("j")
        .addEvaluations(Evaluation.newBuilder().setTask("binary_plus1").setOutput("decimal")
            .setMetric("accuracy").setValue(1.0).setExamples(10))
        .build());
    String printed = text.toString();
    assertTrue(printed.contains("job j SUCCEEDED: 2000 steps in 1:15, 1234 examples/s"), printed);
    assertTrue(printed.contains("binary_plus1  decimal  accuracy    100.00%        10"), printed);
  }

  @Test
  void aRewindIsAnnouncedWithTheEventTheViewFollowsFrom() {
    LiveView view = new LiveView(new PrintWriter(text), false, Duration.ofSeconds(10), nanos::get);
    feed(view, TrainingEvent.newBuilder().setSequence(3012).setJobId("job-7")
        .setLogRewound(tandem.api.v1.LogRewound.newBuilder().setAfterSequence(3344)
            .setRewoundTo(3012)).build());
    assertTrue(text.toString().contains("resumed from a checkpoint")
        && text.toString().contains("after 3012") && text.toString().contains("event 3013"),
        text.toString());
  }
}
