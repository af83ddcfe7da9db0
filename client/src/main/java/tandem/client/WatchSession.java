package tandem.client;

import java.util.Iterator;
import tandem.api.v1.JobStatus;
import tandem.api.v1.TrainingEvent;

/**
 * Follows one job to its end for the command line: streams its events into a {@link WatchState}
 * and an {@link EventView}, resumes the stream if the server closes it before the job finished,
 * and fetches the final status. Blocks the calling thread; gRPC failures propagate as {@link
 * io.grpc.StatusRuntimeException}. Confined to the calling thread.
 */
final class WatchSession {

  /** Streams that end early in a row without any new event before giving up. */
  private static final int MAX_FRUITLESS_RESUMES = 3;

  private final TandemClient client;
  private final EventView view;
  private final WatchState state = new WatchState();

  WatchSession(TandemClient client, EventView view) {
    this.client = client;
    this.view = view;
  }

  /** Watches {@code jobId} from after {@code afterSequence} until it finishes; returns its final status. */
  JobStatus follow(String jobId, long afterSequence) {
    return follow(jobId, afterSequence, 0);
  }

  /**
   * Watches {@code jobId} from after {@code afterSequence}, an event of incarnation {@code
   * incarnation}, until it finishes; returns its final status. If the job resumed from a
   * checkpoint since that event, the server says so first and the view announces it.
   */
  JobStatus follow(String jobId, long afterSequence, long incarnation) {
    // Fetching the status first fails fast on an unknown job and gives the step budget and the
    // progress already made when the watch starts part-way through the log.
    state.seed(client.job(jobId), afterSequence > 0);
    long after = afterSequence;
    long afterIncarnation = incarnation;
    int fruitless = 0;
    while (state.finished().isEmpty()) {
      long before = state.lastSequence();
      Iterator<TrainingEvent> events = client.events(jobId, after, afterIncarnation);
      while (events.hasNext()) {
        TrainingEvent event = events.next();
        state.apply(event);
        view.onEvent(event, state);
      }
      if (state.finished().isPresent()) {
        break;
      }
      fruitless = state.lastSequence() > before ? 0 : fruitless + 1;
      if (fruitless >= MAX_FRUITLESS_RESUMES) {
        throw new IllegalStateException(
            "the server keeps closing the event stream of job " + jobId + " before it finished");
      }
      after = state.lastSequence();
      afterIncarnation = state.incarnation();
    }
    JobStatus status = client.job(jobId);
    view.onEnd(state, status);
    return status;
  }

  WatchState state() {
    return state;
  }
}
