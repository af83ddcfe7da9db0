package tandem.orchestrator.job;

import com.google.protobuf.InvalidProtocolBufferException;
import java.time.Instant;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import tandem.api.v1.JobState;
import tandem.api.v1.JobStatus;
import tandem.api.v1.TrainingEvent;

/**
 * A job's event log: numbers each event (from 1, no gaps), keeps the newest {@code retained} of
 * them in a ring, folds each into the job's status, and wakes the subscribers' readers. Readers pull at
 * their own pace with {@link #read}; one that falls behind the retained window learns which
 * events it missed, so a slow subscriber never holds training back.
 *
 * <p>Memory: the ring starts small ({@link #INITIAL_CAPACITY} slots) and doubles when full, up
 * to {@code retained} slots; only then does it wrap and drop the oldest events. A short job (or
 * one of the many finished jobs a server keeps) therefore holds about as many slots as it has
 * events, not {@code retained}.
 *
 * <p>Across resumes: each event is stamped with the incarnation of the run that appended it, and
 * {@link #rewoundTo} tells a subscriber whose events after some number are no longer this log's
 * (see {@link LogIncarnations}).
 *
 * <p>Thread-safe: the coordinator appends from its actor, gRPC threads read.
 */
public final class EventLog {

  /**
   * Events after a reader's position, as the log holds them, serialized (numbered from {@code
   * firstSequence} on, consecutive), and the range it can no longer get, if any.
   */
  public record Slice(List<byte[]> serialized, long firstSequence, long firstMissed,
      long lastMissed, boolean complete) {

    /** Whether events were dropped between the reader's position and {@link #events()}. */
    public boolean missed() {
      return lastMissed >= firstMissed && firstMissed > 0;
    }

    /** The events, each parsed from its bytes as it is got: read them once. */
    public List<TrainingEvent> events() {
      return new AbstractList<>() {
        @Override
        public TrainingEvent get(int index) {
          return parse(serialized.get(index));
        }

        @Override
        public int size() {
          return serialized.size();
        }
      };
    }

    /** The number of the last event, or {@code firstSequence - 1} when there is none. */
    public long lastSequence() {
      return firstSequence + serialized.size() - 1;
    }
  }

  /** Slots of a new log's ring, before it grows. */
  static final int INITIAL_CAPACITY = 64;

  private final String jobId;
  private final int retained;
  /**
   * The events, serialized, which is also what subscribers' streams send. A step's event as
   * objects (the event, its step, two durations, a timestamp, the outputs' losses and their
   * list) took about 500 bytes in ten objects; serialized, about 150 in one array. A server that
   * kept 40 jobs of 2,000 steps (bench/run.sh soak) held 35 MB of live heap after a full GC
   * instead of 60; its resident memory was 330-355 MB in three runs of four (460 in the fourth)
   * against 430-465 in two.
   */
  private byte[][] ring;
  private LogIncarnations incarnations = new LogIncarnations();
  private JobProgress progress;
  /** The oldest event this log ever held: 1, or a resumed log's first retained event. */
  private long firstSequence = 1;
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
  private long lastSequence;
  private boolean complete;

  public EventLog(String jobId, String jobName, int retained, Instant submittedAt) {
    if (retained <= 0) {
      throw new IllegalArgumentException("expected a positive retention, found " + retained);
    }
    this.jobId = jobId;
    this.retained = retained;
    this.ring = new byte[Math.min(retained, INITIAL_CAPACITY)][];
    this.progress = new JobProgress(jobId, jobName, submittedAt);
  }

  /**
   * A log that starts with {@code history}, the events of an earlier run of the job as they were
   * stored (a checkpoint's), with their sequence numbers, times and incarnations; new events
   * follow them, stamped with a new incarnation. From now on a subscriber that read another run's
   * events past the history's end is told the log was rewound ({@link #rewoundTo}).
   */
  public static EventLog resumed(String jobId, String jobName, int retained, Instant submittedAt,
      List<TrainingEvent> history) {
    EventLog log = new EventLog(jobId, jobName, retained, submittedAt);
    synchronized (log) {
      log.storeEarlier(history, true);
      log.incarnations = LogIncarnations.resumed(history);
    }
    return log;
  }

  /**
   * A log that goes on from a checkpoint's: {@code state}, what the earlier run's log had folded
   * from all its events ({@link #retainedWithState}), and {@code events}, those it still held,
   * consecutive and ending at the state's last one. Older events are gone: a subscriber asking
   * for them is told they were missed. New events follow, stamped with a new incarnation.
   *
   * @throws IllegalArgumentException if the events have a gap, do not end where the state says,
   *     or include the job's end
   */
  public static EventLog resumed(String jobId, String jobName, int retained,
      tandem.api.v1.EventLogState state, List<TrainingEvent> events) {
    Instant submitted = ProtoTime.instant(state.getSubmittedAt());
    EventLog log = new EventLog(jobId, jobName, retained, submitted);
    synchronized (log) {
      long first = events.isEmpty() ? state.getLastSequence() + 1 : events.get(0).getSequence();
      if (first < 1) {
        throw new IllegalArgumentException("expected events from 1 on, found " + first);
      }
      log.firstSequence = first;
      log.lastSequence = first - 1;
      log.storeEarlier(events, false);
      if (log.lastSequence != state.getLastSequence()) {
        throw new IllegalArgumentException("the events end at " + log.lastSequence
            + ", the log's state at " + state.getLastSequence());
      }
      log.progress = JobProgress.restore(jobId, jobName, submitted, state.getProgress());
      log.incarnations = LogIncarnations.resumed(state.getSegmentsList(), log.lastSequence);
    }
    return log;
  }

  /**
   * What a format 3 checkpoint keeps of an earlier run's whole history (the events of a format 1
   * or 2 checkpoint, read one at a time, so that a long job's history need not fit in memory at
   * once): its newest {@code keep} events and the state folded from all of them, which {@link
   * #resumed(String, String, int, tandem.api.v1.EventLogState, List)} goes on from.
   *
   * @param history the events in order, one per call, then null
   * @throws IllegalArgumentException if the history has a gap or includes the job's end
   * @throws java.io.IOException if reading the history fails
   */
  public static Retained fold(String jobId, String jobName, History history, int keep)
      throws java.io.IOException {
    EventLog log = null;
    List<tandem.api.v1.LogSegment> segments = new ArrayList<>();
    for (TrainingEvent event = history.next(); event != null; event = history.next()) {
      if (log == null) {
        log = new EventLog(jobId, jobName, Math.max(1, keep),
            ProtoTime.instant(event.getTime()));
      }
      synchronized (log) {
        log.storeEarlier(event, true);
      }
      if (segments.isEmpty()
          || segments.get(segments.size() - 1).getIncarnation() != event.getIncarnation()) {
        segments.add(tandem.api.v1.LogSegment.newBuilder().setIncarnation(event.getIncarnation())
            .setFirstSequence(event.getSequence()).build());
      }
    }
    if (log == null) {
      return new EventLog(jobId, jobName, Math.max(1, keep), Instant.now())
          .retainedWithState(keep);
    }
    synchronized (log) {
      log.incarnations = LogIncarnations.of(segments);
      return log.retainedWithState(keep);
    }
  }

  /**
   * Stores an earlier run's {@code events}, which must follow the last one stored without a gap
   * and not include the job's end, folding each into the status when {@code fold}.
   */
  private void storeEarlier(List<TrainingEvent> events, boolean fold) {
    for (TrainingEvent event : events) {
      storeEarlier(event, fold);
    }
  }

  private void storeEarlier(TrainingEvent event, boolean fold) {
    if (event.getSequence() != lastSequence + 1 || event.hasJobFinished()) {
      throw new IllegalArgumentException("expected event " + (lastSequence + 1)
          + " of an unfinished job, found event " + event.getSequence() + " ("
          + event.getKindCase() + ")");
    }
    store(event);
    if (fold) {
      progress.apply(event, ProtoTime.instant(event.getTime()));
    }
  }

  /** An earlier run's events, read one at a time ({@link #fold}). */
  public interface History {
    /** The next event; null after the last. */
    TrainingEvent next() throws java.io.IOException;
  }

  /** The events a log still holds and what it folded from all of them, taken together. */
  public record Retained(List<TrainingEvent> events, tandem.api.v1.EventLogState state) {}

  /**
   * What a checkpoint keeps of this log: the newest {@code max} events it holds and its state as
   * of the last of them ({@link #resumed(String, String, int, tandem.api.v1.EventLogState,
   * List)}), read under one lock so that the two agree.
   */
  public synchronized Retained retainedWithState(int max) {
    List<TrainingEvent> events = max <= 0 ? List.of()
        : List.copyOf(read(Math.max(0, lastSequence - max), max).events());
    return new Retained(events, tandem.api.v1.EventLogState.newBuilder()
        .setSubmittedAt(ProtoTime.timestamp(progress.submittedAt()))
        .setLastSequence(lastSequence)
        .addAllSegments(incarnations.segments())
        .setProgress(progress.snapshot())
        .build());
  }

  /**
   * Numbers, stamps, stores and publishes an event; returns it as built. The log keeps it
   * serialized (see {@link #ring}), so its subscribers' streams send those bytes as they are.
   */
  public TrainingEvent append(TrainingEvent.Builder event) {
    TrainingEvent stored;
    synchronized (this) {
      if (complete) {
        throw new IllegalStateException("job " + jobId + " already finished");
      }
      Instant now = Instant.now();
      stored = event.setSequence(lastSequence + 1).setJobId(jobId)
          .setIncarnation(incarnations.current())
          .setTime(ProtoTime.timestamp(now))
          .build();
      store(stored);
      progress.apply(stored, now);
      complete = stored.hasJobFinished();
    }
    listeners.forEach(Runnable::run);
    return stored;
  }

  /** Up to {@code max} events with sequence numbers above {@code afterSequence}. */
  public synchronized Slice read(long afterSequence, int max) {
    if (afterSequence >= lastSequence) {
      // Nothing after it yet; and afterSequence + 1 must not overflow near Long.MAX_VALUE.
      return new Slice(List.of(), lastSequence + 1, 0, -1, complete);
    }
    long firstRetained = Math.max(firstSequence, lastSequence - retained + 1);
    long firstMissed = 0;
    long lastMissed = -1;
    long from = afterSequence + 1;
    if (from < firstRetained) {
      firstMissed = from;
      lastMissed = firstRetained - 1;
      from = firstRetained;
    }
    long to = Math.min(lastSequence, from + max - 1);
    byte[][] out = new byte[(int) Math.max(0, to - from + 1)][];
    for (long sequence = from; sequence <= to; sequence++) {
      out[(int) (sequence - from)] = ring[slot(sequence)];
    }
    return new Slice(Arrays.asList(out), from, firstMissed, lastMissed,
        complete && to >= lastSequence);
  }

  /**
   * Where a subscriber that got event {@code afterSequence} of incarnation {@code incarnation}
   * stands: the last sequence number whose event it still has right when the log was rewound
   * past its position by a resume since, else {@link LogIncarnations#NOT_REWOUND} (-1).
   */
  public synchronized long rewoundTo(long afterSequence, long incarnation) {
    return incarnations.rewoundTo(afterSequence, incarnation);
  }

  /** The incarnation that appends the log's new events. */
  public synchronized long incarnation() {
    return incarnations.current();
  }

  /** Slots the ring has now (grows to {@code retained}). */
  synchronized int capacity() {
    return ring.length;
  }

  /** Puts the next event in the ring, growing it first if it is full and may grow. */
  private void store(TrainingEvent event) {
    if (lastSequence >= ring.length && ring.length < retained) {
      grow();
    }
    lastSequence = event.getSequence();
    ring[slot(lastSequence)] = event.toByteArray();
  }

  /** Doubles the ring (up to {@code retained}); it is full, so it holds the newest ring.length events. */
  private void grow() {
    byte[][] larger = new byte[(int) Math.min(retained, 2L * ring.length)][];
    for (long sequence = lastSequence - ring.length + 1; sequence <= lastSequence; sequence++) {
      larger[(int) ((sequence - 1) % larger.length)] = ring[slot(sequence)];
    }
    ring = larger;
  }

  private int slot(long sequence) {
    return (int) ((sequence - 1) % ring.length);
  }

  /** Called after every append, on the appending thread: it must only schedule work. */
  public void addListener(Runnable listener) {
    listeners.add(listener);
  }

  public void removeListener(Runnable listener) {
    listeners.remove(listener);
  }

  /** Listeners now: one per subscriber that follows the log (gRPC and dashboard ones). */
  public int listenerCount() {
    return listeners.size();
  }

  public synchronized long lastSequence() {
    return lastSequence;
  }

  /** Whether the job's final event is in. */
  public synchronized boolean complete() {
    return complete;
  }

  /** The job's state as of the latest event: {@link #status()}'s, without building the rest. */
  public synchronized JobState state() {
    return progress.state();
  }

  /** The job's status as of the latest event. */
  public synchronized JobStatus status() {
    return progress.toStatus(lastSequence, Instant.now());
  }

  /**
   * {@link #status()} without the tasks' loss curves: what the dashboard's job list and status
   * read every few seconds. Building 200 tasks' curves holds this log's lock, which the job's
   * coordinator needs for every event it appends, for milliseconds.
   */
  public synchronized JobStatus statusWithoutCurves() {
    return progress.toStatus(lastSequence, Instant.now(), false);
  }

  public String jobId() {
    return jobId;
  }

  /** An event the log serialized. */
  private static TrainingEvent parse(byte[] serialized) {
    try {
      return TrainingEvent.parseFrom(serialized);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("an event log's own bytes do not parse", e);
    }
  }
}
