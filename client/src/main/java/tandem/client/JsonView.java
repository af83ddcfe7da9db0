package tandem.client;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.StringValue;
import com.google.protobuf.util.JsonFormat;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.StringJoiner;
import tandem.api.v1.Evaluation;
import tandem.api.v1.JobState;
import tandem.api.v1.JobStatus;
import tandem.api.v1.TrainingEvent;

/**
 * The script view of a watched job: each event as one line of JSON (Protobuf's JSON mapping),
 * then one summary object {@code {"jobId", "state", "steps", "elapsedSeconds",
 * "examplesPerSecond", "evaluations"}}. Confined to the thread that feeds it.
 */
final class JsonView implements EventView {

  private static final JsonFormat.Printer PRINTER = JsonFormat.printer().omittingInsignificantWhitespace();

  private final PrintWriter out;

  JsonView(PrintWriter out) {
    this.out = out;
  }

  @Override
  public void onEvent(TrainingEvent event, WatchState state) {
    out.println(json(event));
    out.flush();
  }

  @Override
  public void onEnd(WatchState state, JobStatus status) {
    out.println(summary(status, state.finished().map(f -> f.getState()).orElse(status.getState())));
    out.flush();
  }

  /** The summary object for a finished job. */
  static String summary(JobStatus status, JobState state) {
    StringJoiner evaluations = new StringJoiner(",", "[", "]");
    for (Evaluation e : status.getEvaluationsList()) {
      evaluations.add(json(e));
    }
    double elapsed = status.getElapsed().getSeconds() + status.getElapsed().getNanos() / 1e9;
    return String.format(Locale.ROOT,
        "{\"jobId\":%s,\"state\":%s,\"steps\":%d,\"elapsedSeconds\":%s,\"examplesPerSecond\":%s,\"evaluations\":%s}",
        json(StringValue.of(status.getJobId())), json(StringValue.of(state.name())),
        status.getStepsDone(), number(elapsed), number(status.getExamplesPerSecond()), evaluations);
  }

  /** JSON has no NaN or infinity; a rate with no elapsed time is reported as 0. */
  private static String number(double value) {
    return Double.isFinite(value) ? Double.toString(value) : "0";
  }

  static String json(MessageOrBuilder message) {
    try {
      return PRINTER.print(message);
    } catch (InvalidProtocolBufferException e) {
      // Only Any fields with unregistered types fail, and the API has none.
      throw new IllegalStateException("cannot print " + message.getClass().getSimpleName(), e);
    }
  }
}
