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
   * The stream failed; no further calls follow. {@code error} is usually an {@link
   * io.grpc.StatusRuntimeException}.
   */
  void onError(Throwable error);

  /** The stream ended after the job's {@code JobFinished} event; no further calls follow. */
  void onCompleted();
}
