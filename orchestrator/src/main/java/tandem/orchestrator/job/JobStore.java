package tandem.orchestrator.job;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Every job this server runs or ran, by id, in submission order, and the names of the workers
 * ready for jobs now. The job manager adds records and the worker directory sets the workers;
 * the gRPC services and the metrics read them. Thread-safe.
 */
public final class JobStore {

  private final ConcurrentHashMap<String, JobRecord> byId = new ConcurrentHashMap<>();
  private final List<JobRecord> inOrder = new CopyOnWriteArrayList<>();
  private final int retained;
  private volatile List<String> readyWorkers = List.of();

  /** A store that keeps every job. */
  public JobStore() {
    this(Integer.MAX_VALUE);
  }

  /**
   * A store that keeps at most {@code retained} jobs when it can: beyond that, the oldest
   * finished ones are dropped from memory (status, events, model) as new ones arrive; their
   * directories under the job directory stay. Unfinished jobs are never dropped.
   */
  public JobStore(int retained) {
    this.retained = retained;
  }

  public synchronized void add(JobRecord record) {
    if (byId.putIfAbsent(record.jobId(), record) != null) {
      throw new IllegalStateException("job " + record.jobId() + " already exists");
    }
    inOrder.add(record);
    evictFinished();
  }

  private void evictFinished() {
    for (JobRecord oldest : inOrder) {
      if (inOrder.size() <= retained) {
        return;
      }
      if (oldest.events().complete()) {
        inOrder.remove(oldest);
        byId.remove(oldest.jobId(), oldest);
      }
    }
  }

  /** Adds a record, or replaces the one with its id (a job resumed after it stopped). */
  public synchronized void put(JobRecord record) {
    JobRecord previous = byId.put(record.jobId(), record);
    if (previous == null) {
      inOrder.add(record);
    } else {
      inOrder.replaceAll(r -> r == previous ? record : r);
    }
  }

  public Optional<JobRecord> find(String jobId) {
    return Optional.ofNullable(byId.get(jobId));
  }

  /** The workers ready for jobs now (embedded ones first, then remote ones), by name. */
  public List<String> readyWorkers() {
    return readyWorkers;
  }

  /** Called by the worker directory whenever the ready workers change. */
  public void readyWorkers(List<String> names) {
    readyWorkers = List.copyOf(names);
  }

  /** Newest first. */
  public List<JobRecord> all() {
    List<JobRecord> newestFirst = new ArrayList<>(inOrder);
    Collections.reverse(newestFirst);
    return newestFirst;
  }
}
