package tandem.bench;

import com.google.protobuf.Timestamp;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import tandem.api.v1.GetJobRequest;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.StepCompleted;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingEventBatch;
import tandem.api.v1.TrainingServiceGrpc;
import tandem.orchestrator.ServerSettings;
import tandem.orchestrator.TandemServer;

/**
 * An embedded Tandem server on 127.0.0.1 (a free port) with local workers, and a gRPC client of
 * it: the full path a user's job takes (gRPC, job manager, coordinator, shared-parameter actor,
 * worker actors, event log, event stream). One server serves every run of a benchmark, so later
 * runs find the JIT warm. Jobs run one at a time; not thread-safe.
 */
public final class EmbeddedTandem implements AutoCloseable {

  private static final Duration JOB_DEADLINE = Duration.ofMinutes(60);

  private final TandemServer server;
  private final ManagedChannel channel;
  private final TrainingServiceGrpc.TrainingServiceBlockingStub stub;

  private EmbeddedTandem(TandemServer server) {
    this.server = server;
    this.channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext()
        .build();
    this.stub = TrainingServiceGrpc.newBlockingStub(channel);
  }

  /**
   * Starts a server with {@code workers} local workers, reading data under the working
   * directory, the system's temporary directory (where the benchmarks write their data sets) and
   * {@code dataRoots}.
   */
  public static EmbeddedTandem start(int workers, java.nio.file.Path... dataRoots)
      throws IOException {
    return start(workers, false, dataRoots);
  }

  /**
   * {@link #start(int, java.nio.file.Path...)}, with the dashboard and {@code /metrics} on
   * 127.0.0.1 (a free port: {@link #httpPort}) when {@code dashboard} is set.
   */
  public static EmbeddedTandem start(int workers, boolean dashboard,
      java.nio.file.Path... dataRoots) throws IOException {
    return start(workers, dashboard, java.util.Map.of(), dataRoots);
  }

  /**
   * {@link #start(int, boolean, java.nio.file.Path...)}, with {@code overrides} (e.g.
   * {@code tandem.worker.async-updates-together}) over the configuration's own.
   */
  public static EmbeddedTandem start(int workers, boolean dashboard,
      java.util.Map<String, ?> overrides, java.nio.file.Path... dataRoots) throws IOException {
    java.util.List<String> roots = new java.util.ArrayList<>(
        java.util.List.of(".", System.getProperty("java.io.tmpdir")));
    for (java.nio.file.Path root : dataRoots) {
      roots.add(root.toAbsolutePath().normalize().toString());
    }
    Config config = ConfigFactory.parseMap(overrides)
        .withFallback(ConfigFactory.parseMap(java.util.Map.of("tandem.orchestrator.data-roots",
            roots)))
        .withFallback(ConfigFactory.load());
    ServerSettings settings = ServerSettings.create(config)
        .withHost("127.0.0.1").withPort(0).withLocalWorkers(workers)
        // Checkpoints pause training; benchmarks measure training alone.
        .withJobDir(null);
    tandem.orchestrator.http.HttpSettings http = tandem.orchestrator.http.HttpSettings
        .create(config).withHost("127.0.0.1").withPort(dashboard ? 0 : -1);
    return new EmbeddedTandem(TandemServer.start(settings, http, config));
  }

  /** The dashboard's port; only when started with it. */
  public int httpPort() {
    return server.httpPort();
  }

  /** When the client reads a job's events. */
  public enum EventReading {
    /** Streamed live while the job trains, as a user following the job does. */
    LIVE,
    /**
     * Read once the job ended (the client polls GetJob every {@link #POLL_INTERVAL} meanwhile):
     * what training costs without a live subscriber competing for the cores.
     */
    AFTER
  }

  private static final Duration POLL_INTERVAL = Duration.ofMillis(200);

  /**
   * Submits {@code spec}, reads its events until {@code job_finished} and returns the job's
   * figures; throws if the job did not succeed.
   */
  public ActorRun run(JobSpec spec, EventReading reading) throws InterruptedException {
    return run(spec, reading, jobId -> { });
  }

  /**
   * {@link #run(JobSpec, EventReading)}, calling {@code submitted} with the job's id as soon as
   * the server accepted it (e.g. to open its dashboard page while it trains).
   */
  public ActorRun run(JobSpec spec, EventReading reading,
      java.util.function.Consumer<String> submitted) throws InterruptedException {
    long submittedAt = System.nanoTime();
    String jobId = stub.submitJob(SubmitJobRequest.newBuilder().setSpec(spec).build()).getJobId();
    submitted.accept(jobId);
    if (reading == EventReading.AFTER) {
      awaitEnd(jobId);
    }
    // As TandemClient.watch follows a job: StreamEventBatches, several events to a message.
    Iterator<TrainingEventBatch> batches = stub.withDeadlineAfter(JOB_DEADLINE.toMillis(),
        TimeUnit.MILLISECONDS).streamEventBatches(
            StreamEventsRequest.newBuilder().setJobId(jobId).build());
    // In arrival order here, by step number once the job ended: a follower that sorts as it
    // reads takes that much more of the cores the job trains on.
    List<TrainingEvent> stepEvents = new ArrayList<>();
    Timestamp startedAt = null;
    Timestamp lastStepAt = null;
    JobFinished finished = null;
    java.util.Map<String, Double> evaluation = new java.util.LinkedHashMap<>();
    while (batches.hasNext()) {
      for (TrainingEvent event : batches.next().getEventsList()) {
        switch (event.getKindCase()) {
          case JOB_STARTED -> startedAt = event.getTime();
          case STEP_COMPLETED -> {
            stepEvents.add(event);
            lastStepAt = event.getTime();
          }
          case JOB_FINISHED -> finished = event.getJobFinished();
          case EVALUATION_COMPLETED -> event.getEvaluationCompleted().getEvaluationsList()
              .forEach(e -> evaluation.put(e.getTask() + "/" + e.getOutput(), e.getValue()));
          case EVENTS_MISSED -> throw new IllegalStateException("job " + jobId
              + " dropped events " + event.getEventsMissed() + ": raise retained-events");
          default -> { }
        }
      }
    }
    Duration clientTime = Duration.ofNanos(System.nanoTime() - submittedAt);
    if (finished == null || finished.getState() != JobState.JOB_STATE_SUCCEEDED) {
      throw new IllegalStateException("job " + jobId + " did not succeed: "
          + (finished == null ? "the event stream ended without job_finished" : finished));
    }
    if (startedAt == null || lastStepAt == null) {
      throw new IllegalStateException("job " + jobId + " has no job_started or no step event");
    }
    TreeMap<Long, TrainingEvent> steps = new TreeMap<>();
    for (TrainingEvent event : stepEvents) {
      steps.put(event.getStepCompleted().getStep(), event);
    }
    List<String> tasks = new ArrayList<>(steps.size());
    double[] losses = new double[steps.size()];
    long examples = 0;
    Duration compute = Duration.ZERO;
    Duration queue = Duration.ZERO;
    int i = 0;
    for (TrainingEvent event : steps.values()) {
      StepCompleted step = event.getStepCompleted();
      tasks.add(step.getTask());
      losses[i++] = step.getLoss();
      examples += step.getExamples();
      compute = compute.plus(duration(step.getComputeTime()));
      queue = queue.plus(duration(step.getQueueTime()));
    }
    // The second half: the steps after the middle one, over the time from its event to the last.
    long middle = steps.keySet().stream().skip(steps.size() / 2).findFirst().orElseThrow();
    long laterExamples = steps.tailMap(middle, false).values().stream()
        .mapToLong(event -> event.getStepCompleted().getExamples()).sum();
    Duration laterTime = between(steps.get(middle).getTime(),
        steps.lastEntry().getValue().getTime());
    double laterRate = laterTime.isZero() ? Double.NaN : laterExamples / (laterTime.toNanos() / 1e9);
    return new ActorRun(finished.getSteps(), examples, finished.getExamplesPerSecond(),
        duration(finished.getElapsed()), between(startedAt, lastStepAt), compute, queue,
        clientTime, new LossTrace(tasks, losses), evaluation, laterRate);
  }

  private void awaitEnd(String jobId) throws InterruptedException {
    GetJobRequest request = GetJobRequest.newBuilder().setJobId(jobId).setOmitLossCurves(true)
        .build();
    while (true) {
      JobState state = stub.getJob(request).getState();
      if (state != JobState.JOB_STATE_PENDING && state != JobState.JOB_STATE_RUNNING) {
        return;
      }
      Thread.sleep(POLL_INTERVAL.toMillis());
    }
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.close();
  }

  private static Duration duration(com.google.protobuf.Duration proto) {
    return Duration.ofSeconds(proto.getSeconds(), proto.getNanos());
  }

  private static Duration between(Timestamp from, Timestamp to) {
    return Duration.ofSeconds(to.getSeconds() - from.getSeconds(), to.getNanos() - from.getNanos());
  }
}
