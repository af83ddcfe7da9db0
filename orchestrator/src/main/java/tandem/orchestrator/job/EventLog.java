package tandem.orchestrator.job;

import com.google.protobuf.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import tandem.api.v1.JobStatus;
import tandem.api.v1.TrainingEvent;

/**
 * A job's event log: numbers each event (from 1, no gaps), keeps the newest {@code retained} of
 * them in a ring, folds each into the job's status, and wakes the subscribers' readers. Readers pull at
 * their own pace with {@link #read}; one that falls behind the retained window learns which
 * events it missed, so a slow subscriber never holds training back.
 *
 * <p>Thread-safe: the coordinator appends from its actor, gRPC threads read.
 */
public final class EventLog {

  /** Events after a reader's position, and the range it can no longer get, if any. */
  public record Slice(List<TrainingEvent> events, long firstMissed, long lastMissed,
      boolean complete) {

    /** Whether events were dropped between the reader's position and {@link #events()}. */
    public boolean missed() {
      return lastMissed >= firstMissed && firstMissed > 0;
    }
  }

  private final String jobId;
  private final int retained;
  private final TrainingEvent[] ring;
  private final JobProgress progress;
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
  private long lastSequence;
  private boolean complete;

  public EventLog(String jobId, String jobName, int retained, Instant submittedAt) {
    if (retained <= 0) {
      throw new IllegalArgumentException("expected a positive retention, found " + retained);
    }
    this.jobId = jobId;
    this.retained = retained;
    this.ring = new TrainingEvent[retained];
    this.progress = new JobProgress(jobId, jobName, submittedAt);
  }

  /**
   * A log that starts with {@code history}, the events of an earlier run of the job as they were
   * stored (a checkpoint's), with their sequence numbers and times; new events follow them.
   */
  public static EventLog resumed(String jobId, String jobName, int retained, Instant submittedAt,
      List<TrainingEvent> history) {
    EventLog log = new EventLog(jobId, jobName, retained, submittedAt);
    synchronized (log) {
      for (TrainingEvent event : history) {
        if (event.getSequence() != log.lastSequence + 1 || event.hasJobFinished()) {
          throw new IllegalArgumentException("expected event " + (log.lastSequence + 1)
              + " of an unfinished job, found event " + event.getSequence() + " ("
              + event.getKindCase() + ")");
        }
        log.lastSequence = event.getSequence();
        log.ring[(int) ((log.lastSequence - 1) % retained)] = event;
        log.progress.apply(event, Instant.ofEpochSecond(event.getTime().getSeconds(),
            event.getTime().getNanos()));
      }
    }
    return log;
  }

  /** Numbers, stamps, stores and publishes an event; returns it as stored. */
  public TrainingEvent append(TrainingEvent.Builder event) {
    TrainingEvent stored;
    synchronized (this) {
      if (complete) {
        throw new IllegalStateException("job " + jobId + " already finished");
      }
      Instant now = Instant.now();
      stored = event.setSequence(++lastSequence).setJobId(jobId)
          .setTime(Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()))
          .build();
      ring[(int) ((lastSequence - 1) % retained)] = stored;
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
      return new Slice(List.of(), 0, -1, complete);
    }
    long firstRetained = Math.max(1, lastSequence - retained + 1);
    long firstMissed = 0;
    long lastMissed = -1;
    long from = afterSequence + 1;
    if (from < firstRetained) {
      firstMissed = from;
      lastMissed = firstRetained - 1;
      from = firstRetained;
    }
    long to = Math.min(lastSequence, from + max - 1);
    List<TrainingEvent> out = new ArrayList<>((int) Math.max(0, to - from + 1));
    for (long sequence = from; sequence <= to; sequence++) {
      out.add(ring[(int) ((sequence - 1) % retained)]);
    }
    return new Slice(out, firstMissed, lastMissed, complete && to >= lastSequence);
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

  /** The job's status as of the latest event. */
  public synchronized JobStatus status() {
    return progress.toStatus(lastSequence, Instant.now());
  }

  public String jobId() {
    return jobId;
  }
}
