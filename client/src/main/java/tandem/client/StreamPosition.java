package tandem.client;

import tandem.api.v1.TrainingEvent;

/**
 * Where a consumer of a job's event stream stands: the sequence number and incarnation to resume
 * after ({@link TandemClient#watch(String, StreamPosition, EventListener)}), advanced by every
 * event received. A {@code log_rewound} event moves it back to the number the log was rewound
 * to; an {@code events_missed} event past the range it stands for. Immutable.
 *
 * @param sequence the last event's sequence number; 0 before any
 * @param incarnation that event's {@code TrainingEvent.incarnation}
 */
public record StreamPosition(long sequence, long incarnation) {

  /** Before the first event: the whole log. */
  public static final StreamPosition START = new StreamPosition(0, 0);

  /** The position after {@code event}. */
  public StreamPosition advance(TrainingEvent event) {
    if (event.hasLogRewound()) {
      return new StreamPosition(event.getLogRewound().getRewoundTo(), event.getIncarnation());
    }
    return new StreamPosition(event.getSequence(), event.getIncarnation());
  }

  /**
   * Whether {@code event} is the one expected next: a {@code log_rewound} (which may only come
   * first), or the next sequence number, where an {@code events_missed} stands for the range up
   * to its own number.
   */
  public boolean isNext(TrainingEvent event) {
    if (event.hasLogRewound()) {
      return event.getLogRewound().getRewoundTo() < sequence;
    }
    if (event.hasEventsMissed()) {
      return event.getEventsMissed().getFirstMissed() == sequence + 1;
    }
    return event.getSequence() == sequence + 1;
  }
}
