package tandem.orchestrator.job;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import tandem.api.v1.TrainingEvent;

/**
 * The runs ("incarnations") whose events make up a job's log, and where each one's events begin,
 * so that a subscriber resuming after a sequence number can be told whether the log it read is
 * still this one up to there.
 *
 * <p>Why it exists: a job resumed from a checkpoint (server restart after a kill -9, ResumeJob)
 * keeps the checkpoint's events and numbers its new ones on from the checkpoint's last one. The
 * events the previous run appended after its checkpoint are gone, and their numbers are reused
 * for other events. Each run stamps its events with its own incarnation ({@code
 * TrainingEvent.incarnation}): 0 for the job's first run, then a number unique to the resume,
 * larger than every earlier one (milliseconds since the epoch, or more). The log is then a list
 * of segments, each the events one run appended: {@code [inc_1 from 1] [inc_2 from s_2] ...
 * [current from s_k]}.
 *
 * <p>The rule for a subscriber that received event {@code n} stamped with incarnation {@code z}:
 * <ul>
 *   <li>{@code z} is the current incarnation: the log is the one it read.</li>
 *   <li>{@code z} is an earlier segment's, ending at {@code e}: both logs hold run {@code z}'s
 *       events up to {@code e} and differ after it; rewound to {@code e} if {@code n > e}.</li>
 *   <li>{@code z} is none of them (that run never wrote a checkpoint, or the subscriber does not
 *       know, 0): its log kept the segments older than {@code z} and then had its own events, so
 *       the logs agree up to the start of the first segment newer than {@code z}; rewound there
 *       if {@code n} is beyond it.</li>
 * </ul>
 * A rewind point may be earlier than strictly needed (the subscriber gets events again), never
 * later. Events of checkpoints written before incarnations existed all read as incarnation 0.
 *
 * <p>Not thread-safe: {@link EventLog} guards it.
 */
final class LogIncarnations {

  /** Incarnations handed out by this process, so two resumes in one millisecond still differ. */
  private static final AtomicLong LAST_ISSUED = new AtomicLong();

  /** No rewind: the subscriber's events are the log's. */
  static final long NOT_REWOUND = -1;

  private final List<long[]> segments = new ArrayList<>();

  /** A first run's: incarnation 0 from sequence 1. */
  LogIncarnations() {
    segments.add(new long[] {0, 1});
  }

  private LogIncarnations(List<TrainingEvent> history) {
    long maxSeen = 0;
    for (TrainingEvent event : history) {
      if (segments.isEmpty() || current() != event.getIncarnation()) {
        segments.add(new long[] {event.getIncarnation(), event.getSequence()});
      }
      maxSeen = Math.max(maxSeen, event.getIncarnation());
    }
    long next = issue(maxSeen);
    long firstNew = history.isEmpty() ? 1 : history.get(history.size() - 1).getSequence() + 1;
    segments.add(new long[] {next, firstNew});
  }

  /** A resumed run's: the segments of {@code history}, then a new incarnation after its end. */
  static LogIncarnations resumed(List<TrainingEvent> history) {
    return new LogIncarnations(history);
  }

  /**
   * A resumed run's from the segments a checkpoint kept ({@link #segments}) of a log whose last
   * event is {@code lastSequence}: those segments, then a new incarnation after it.
   */
  static LogIncarnations resumed(List<tandem.api.v1.LogSegment> kept, long lastSequence) {
    LogIncarnations incarnations = new LogIncarnations();
    incarnations.segments.clear();
    long maxSeen = 0;
    for (tandem.api.v1.LogSegment segment : kept) {
      incarnations.segments.add(new long[] {segment.getIncarnation(),
          segment.getFirstSequence()});
      maxSeen = Math.max(maxSeen, segment.getIncarnation());
    }
    incarnations.segments.add(new long[] {issue(maxSeen), lastSequence + 1});
    return incarnations;
  }

  /** A log's segments as {@link #segments} gave them, without a new run after them. */
  static LogIncarnations of(List<tandem.api.v1.LogSegment> kept) {
    LogIncarnations incarnations = new LogIncarnations();
    if (!kept.isEmpty()) {
      incarnations.segments.clear();
      kept.forEach(s -> incarnations.segments.add(new long[] {s.getIncarnation(),
          s.getFirstSequence()}));
    }
    return incarnations;
  }

  /** The segments, oldest first, for a checkpoint. */
  List<tandem.api.v1.LogSegment> segments() {
    return segments.stream().map(s -> tandem.api.v1.LogSegment.newBuilder()
        .setIncarnation(s[0]).setFirstSequence(s[1]).build()).toList();
  }

  private static long issue(long atLeastAbove) {
    return LAST_ISSUED.updateAndGet(last ->
        Math.max(System.currentTimeMillis(), Math.max(last, atLeastAbove) + 1));
  }

  /** The incarnation that appends new events. */
  long current() {
    return segments.get(segments.size() - 1)[0];
  }

  /**
   * The last sequence number whose event a subscriber that got event {@code afterSequence} of
   * incarnation {@code incarnation} still has right, if its later events are not the log's;
   * {@link #NOT_REWOUND} when all of its events are.
   */
  long rewoundTo(long afterSequence, long incarnation) {
    if (afterSequence <= 0) {
      return NOT_REWOUND;
    }
    long agreeThrough = 0;
    for (int i = 0; i < segments.size(); i++) {
      long[] segment = segments.get(i);
      boolean last = i == segments.size() - 1;
      if (segment[0] == incarnation) {
        if (last) {
          return NOT_REWOUND;
        }
        agreeThrough = segments.get(i + 1)[1] - 1;
        break;
      }
      if (segment[0] > incarnation) {
        agreeThrough = segment[1] - 1;
        break;
      }
      if (last) {
        // Newer than every run this log knows: nothing can be vouched for.
        agreeThrough = 0;
      }
    }
    return afterSequence > agreeThrough ? agreeThrough : NOT_REWOUND;
  }
}
