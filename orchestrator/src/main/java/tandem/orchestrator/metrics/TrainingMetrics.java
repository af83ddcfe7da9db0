package tandem.orchestrator.metrics;

import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.javacpp.Pointer;
import tandem.api.v1.JobState;
import tandem.api.v1.StepCompleted;
import tandem.api.v1.TaskSpec;
import tandem.api.v1.TrainingEvent;
import tandem.orchestrator.job.EventLog;
import tandem.orchestrator.job.JobRecord;
import tandem.orchestrator.job.JobStore;

/**
 * The server's Prometheus metrics ({@code /metrics}), in their own registry so that several
 * servers in one JVM (tests) keep theirs apart. Training counters and histograms are read from
 * each job's {@link EventLog} when Prometheus scrapes ({@link #scrape()} catches up on the
 * events appended since the previous scrape): nothing runs on the training path, and the
 * counters agree with the job's own step counts by construction. A job whose log dropped events
 * between two scrapes (more than the log retains) undercounts them; {@code
 * tandem_events_missed_total} says how many.
 *
 * <p>Label cardinality: the first {@code maxTaskLabels} tasks of a job (in spec order) get their
 * own {@code task} label; the rest are summed under {@code task="_other"}. Histograms are per
 * job only. Thread-safe: {@link #scrape()} is synchronized; {@link #observePredict} is not
 * (the client's histogram is).
 */
public final class TrainingMetrics {

  /** The {@code task} label of the tasks beyond {@code maxTaskLabels}. */
  public static final String OTHER_TASKS = "_other";

  private final JobStore store;
  private final int maxTaskLabels;
  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
  private final Counter steps;
  private final Counter examples;
  private final Counter droppedGradients;
  private final Counter failedSteps;
  private final Counter missedEvents;
  private final Counter checkpoints;
  private final Histogram computeTime;
  private final Histogram queueTime;
  private final Histogram staleness;
  private final Histogram predictTime;
  /** Per job: how far its log was read, and its latest checkpoint. */
  private final Map<String, JobCursor> cursors = new HashMap<>();

  private static final class JobCursor {
    final Map<String, String> taskLabels = new HashMap<>();
    /** Workers holding the job's tasks ("training") or lost while they did ("lost"). */
    final Map<String, String> workers = new HashMap<>();
    long position;
    double checkpointSeconds = Double.NaN;
    double checkpointBytes = Double.NaN;
  }

  /** @param maxTaskLabels tasks per job with a {@code task} label of their own */
  public TrainingMetrics(JobStore store, int maxTaskLabels) {
    this.store = store;
    this.maxTaskLabels = maxTaskLabels;
    steps = Counter.builder().name("tandem_steps")
        .help("Training steps completed").labelNames("job", "task").register(registry);
    examples = Counter.builder().name("tandem_examples")
        .help("Training examples of completed steps").labelNames("job", "task")
        .register(registry);
    droppedGradients = Counter.builder().name("tandem_dropped_gradients")
        .help("Steps whose shared gradient was dropped as too stale").labelNames("job", "task")
        .register(registry);
    failedSteps = Counter.builder().name("tandem_failed_steps")
        .help("Steps in flight on a worker that was lost (they run again elsewhere)")
        .labelNames("job").register(registry);
    missedEvents = Counter.builder().name("tandem_events_missed")
        .help("Events that left a job's log before a scrape read them").labelNames("job")
        .register(registry);
    checkpoints = Counter.builder().name("tandem_checkpoints")
        .help("Checkpoints written").labelNames("job").register(registry);
    computeTime = Histogram.builder().name("tandem_step_compute_seconds")
        .help("Forward, backward and head update of a step on its worker")
        .classicOnly().classicExponentialUpperBounds(0.00025, 2, 16)
        .labelNames("job").register(registry);
    queueTime = Histogram.builder().name("tandem_step_queue_seconds")
        .help("From when a step could start to the start of its compute")
        .classicOnly().classicExponentialUpperBounds(0.00025, 2, 16)
        .labelNames("job").register(registry);
    staleness = Histogram.builder().name("tandem_step_staleness_versions")
        .help("Shared-module versions applied between a step's replica and its own gradient")
        .classicOnly().classicUpperBounds(0, 1, 2, 3, 4, 8, 16, 32, 64)
        .labelNames("job").register(registry);
    predictTime = Histogram.builder().name("tandem_predict_seconds")
        .help("Predict latency, from the request to its rows computed")
        .classicOnly().classicExponentialUpperBounds(0.0001, 2, 16)
        .labelNames("model").register(registry);
    GaugeWithCallback.builder().name("tandem_jobs").help("Jobs by state").labelNames("state")
        .callback(callback -> {
          Map<JobState, Integer> byState = new EnumMap<>(JobState.class);
          for (JobState state : JobState.values()) {
            if (state != JobState.UNRECOGNIZED && state != JobState.JOB_STATE_UNSPECIFIED) {
              byState.put(state, 0);
            }
          }
          store.all().forEach(r -> byState.merge(r.events().state(), 1, Integer::sum));
          byState.forEach((state, count) -> callback.call(count,
              state.name().replace("JOB_STATE_", "").toLowerCase(java.util.Locale.ROOT)));
        }).register(registry);
    GaugeWithCallback.builder().name("tandem_event_subscribers")
        .help("Clients following a job's events live (gRPC StreamEvents and dashboard pages)")
        .callback(callback -> callback.call(store.all().stream()
            .mapToInt(r -> r.events().listenerCount()).sum()))
        .register(registry);
    GaugeWithCallback.builder().name("tandem_checkpoint_pause_seconds")
        .help("The latest checkpoint's pause, from stopping dispatch to being on disk")
        .labelNames("job").callback(callback -> cursors.forEach((job, cursor) -> {
          if (!Double.isNaN(cursor.checkpointSeconds)) {
            callback.call(cursor.checkpointSeconds, job);
          }
        })).register(registry);
    GaugeWithCallback.builder().name("tandem_checkpoint_bytes")
        .help("Size of the latest checkpoint on disk").labelNames("job")
        .callback(callback -> cursors.forEach((job, cursor) -> {
          if (!Double.isNaN(cursor.checkpointBytes)) {
            callback.call(cursor.checkpointBytes, job);
          }
        })).register(registry);
    GaugeWithCallback.builder().name("tandem_workers")
        .help("Workers by node (host:port, or local) and state: training (holding tasks of a "
            + "running job), idle (ready, holding none) or lost (stopped while it held tasks, "
            + "and not ready since)")
        .labelNames("node", "state").callback(callback -> {
          Map<String, String> byWorker = new HashMap<>();
          cursors.values().forEach(cursor -> cursor.workers.forEach((worker, state) ->
              byWorker.merge(worker, state, (a, b) -> a.equals("training") ? a : b)));
          List<String> ready = store.readyWorkers();
          // Ready now: not lost any more, whatever a job recorded before.
          byWorker.replaceAll((worker, state) ->
              state.equals("lost") && ready.contains(worker) ? "idle" : state);
          ready.forEach(worker -> byWorker.putIfAbsent(worker, "idle"));
          Map<List<String>, Integer> counts = new HashMap<>();
          byWorker.forEach((worker, state) -> counts.merge(
              List.of(node(worker), state), 1, Integer::sum));
          counts.forEach((labels, count) -> callback.call(count, labels.get(0), labels.get(1)));
        }).register(registry);
    GaugeWithCallback.builder().name("tandem_javacpp_bytes")
        .help("Off-heap memory of ND4J's JavaCPP pointers: allocated (total), the process's "
            + "physical memory (physical) and their limits (max_total, max_physical)")
        .labelNames("kind").callback(callback -> {
          callback.call(Pointer.totalBytes(), "total");
          callback.call(Pointer.physicalBytes(), "physical");
          callback.call(Pointer.maxBytes(), "max_total");
          callback.call(Pointer.maxPhysicalBytes(), "max_physical");
        }).register(registry);
    JvmMetrics.builder().register(registry);
  }

  /** The Prometheus text format's content type. */
  public String contentType() {
    return PrometheusTextFormatWriter.CONTENT_TYPE;
  }

  /** Catches up on every job's events, then writes every metric in the text format. */
  public synchronized byte[] scrape() {
    for (JobRecord record : store.all()) {
      catchUp(record);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(16384);
    try {
      writer.write(out, registry.scrape(), EscapingScheme.UNDERSCORE_ESCAPING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** Records one Predict call of {@code model}. */
  public void observePredict(String model, Duration latency) {
    predictTime.labelValues(model).observe(latency.toNanos() / 1e9);
  }

  private void catchUp(JobRecord record) {
    String job = record.jobId();
    JobCursor cursor = cursors.computeIfAbsent(job, id -> newCursor(record));
    EventLog log = record.events();
    while (true) {
      EventLog.Slice slice = log.read(cursor.position, 4096);
      if (slice.missed()) {
        missedEvents.labelValues(job).inc(slice.lastMissed() - slice.firstMissed() + 1);
        cursor.position = slice.lastMissed();
      }
      if (slice.events().isEmpty()) {
        return;
      }
      for (TrainingEvent event : slice.events()) {
        apply(job, cursor, event);
        cursor.position = event.getSequence();
      }
    }
  }

  private JobCursor newCursor(JobRecord record) {
    JobCursor cursor = new JobCursor();
    int index = 0;
    for (TaskSpec task : record.spec().getTasksList()) {
      cursor.taskLabels.put(task.getName(), index++ < maxTaskLabels ? task.getName() : OTHER_TASKS);
    }
    return cursor;
  }

  private void apply(String job, JobCursor cursor, TrainingEvent event) {
    switch (event.getKindCase()) {
      case STEP_COMPLETED -> {
        StepCompleted step = event.getStepCompleted();
        String task = cursor.taskLabels.getOrDefault(step.getTask(), OTHER_TASKS);
        steps.labelValues(job, task).inc();
        examples.labelValues(job, task).inc(step.getExamples());
        if (step.getGradientDropped()) {
          droppedGradients.labelValues(job, task).inc();
        }
        computeTime.labelValues(job).observe(seconds(step.getComputeTime()));
        queueTime.labelValues(job).observe(seconds(step.getQueueTime()));
        staleness.labelValues(job).observe(step.getStaleness());
      }
      case JOB_STARTED -> event.getJobStarted().getPlacementsList()
          .forEach(p -> cursor.workers.put(p.getWorker(), "training"));
      case JOB_RESUMED -> event.getJobResumed().getPlacementsList()
          .forEach(p -> cursor.workers.put(p.getWorker(), "training"));
      case TASKS_MOVED -> event.getTasksMoved().getPlacementsList()
          .forEach(p -> cursor.workers.put(p.getWorker(), "training"));
      case JOB_FINISHED -> cursor.workers.values().removeIf("training"::equals);
      case WORKER_LOST -> {
        failedSteps.labelValues(job).inc(event.getWorkerLost().getStepsInFlightCount());
        cursor.workers.put(event.getWorkerLost().getWorker(), "lost");
      }
      case CHECKPOINT_WRITTEN -> {
        checkpoints.labelValues(job).inc();
        cursor.checkpointSeconds = seconds(event.getCheckpointWritten().getPause());
        cursor.checkpointBytes = size(event.getCheckpointWritten().getPath());
      }
      default -> { }
    }
  }

  /** A worker's node: {@code host:port} of a worker node's worker, {@code local} otherwise. */
  private static String node(String worker) {
    int slash = worker.lastIndexOf('/');
    return slash < 0 ? "local" : worker.substring(0, slash);
  }

  private static double seconds(com.google.protobuf.Duration duration) {
    return duration.getSeconds() + duration.getNanos() / 1e9;
  }

  /** Bytes of the files under {@code dir}; NaN if it is gone (a newer one replaced it). */
  private static double size(String dir) {
    if (dir.isEmpty()) {
      return Double.NaN;
    }
    try (Stream<Path> files = Files.walk(Path.of(dir))) {
      return files.filter(Files::isRegularFile).mapToLong(file -> {
        try {
          return Files.size(file);
        } catch (IOException e) {
          return 0;
        }
      }).sum();
    } catch (IOException | UncheckedIOException e) {
      return Double.NaN;
    }
  }
}
