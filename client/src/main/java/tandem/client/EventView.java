package tandem.client;

import tandem.api.v1.JobStatus;
import tandem.api.v1.TrainingEvent;

/**
 * Shows a watched job to the user: {@link LiveView} for people, {@link JsonView} for scripts.
 * Called by {@link WatchSession} from one thread.
 */
interface EventView {

  /** An event arrived; {@code state} already includes it. */
  void onEvent(TrainingEvent event, WatchState state);

  /** The job finished; {@code status} is the server's final word, evaluations included. */
  void onEnd(WatchState state, JobStatus status);
}
