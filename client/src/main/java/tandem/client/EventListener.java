package tandem.client;

import tandem.api.v1.TrainingEvent;

/**
 * Receives a job's events from {@link TandemClient#watch}. Calls come on a gRPC thread, one at a
 * time, in sequence order; implementations should return quickly (hand heavy work to another
 * thread), as a slow listener holds back the stream.
 */
public interface EventListener {

  /** One event of the job's log, or a live one. */
  void onEvent(TrainingEvent event);

  /**
   * The stream was resumed after an event that the job's log no longer holds as this client got
   * it: the job resumed from a checkpoint since (a server restart, ResumeJob), and the events
   * after {@code event.getLogRewound().getRewoundTo()} were replaced. Comes first, before any
   * {@link #onEvent}; the events that follow start at the next sequence number, so drop what
   * you kept after that number. By default it goes to {@link #onEvent} like any event.
   */
  default void onLogRewound(TrainingEvent event) {
    onEvent(event);
  }

  /**
   * The stream failed; no further calls follow. {@code error} is usually an {@link
   * io.grpc.StatusRuntimeException}.
   */
  void onError(Throwable error);

  /** The stream ended after the job's {@code JobFinished} event; no further calls follow. */
  void onCompleted();
}
