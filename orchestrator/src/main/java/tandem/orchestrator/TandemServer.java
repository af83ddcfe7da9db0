package tandem.orchestrator;

import com.typesafe.config.Config;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.nio.file.Path;
import tandem.api.v1.InferenceServiceGrpc;
import tandem.api.v1.ModelServiceGrpc;
import tandem.api.v1.TrainingServiceGrpc;
import tandem.orchestrator.admission.DataRoots;
import tandem.orchestrator.admission.JobAdmission;
import tandem.orchestrator.admission.LimitSettings;
import tandem.orchestrator.checkpoint.Resumable;
import tandem.worker.node.ClusterSettings;
import tandem.orchestrator.grpc.EventPacing;
import tandem.orchestrator.grpc.InferenceService;
import tandem.orchestrator.grpc.MalformedRequests;
import tandem.orchestrator.grpc.ModelService;
import tandem.orchestrator.serving.ModelRegistry;
import tandem.orchestrator.serving.Predictions;
import tandem.orchestrator.serving.ServingSettings;
import tandem.orchestrator.serving.TaskAdditions;
import tandem.orchestrator.grpc.TrainingService;
import tandem.orchestrator.job.JobManager;
import tandem.orchestrator.job.JobStore;
import tandem.orchestrator.http.DashboardServer;
import tandem.orchestrator.http.HttpSettings;
import tandem.orchestrator.metrics.TrainingMetrics;

/**
 * The embedded Tandem server: an actor system with local workers and the job manager, the models
 * it serves, and the gRPC server in front of them (training, inference and model APIs, standard
 * health checking, server reflection). Owns
 * both lifecycles; {@link #close()} stops serving, then stops the actors. Thread-safe.
 */
public final class TandemServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(TandemServer.class);

  private final ServerSettings settings;
  private final ActorSystem<JobManager.Command> system;
  private final JobStore jobs;
  private final Server server;
  private final HealthStatusManager health;
  private final ExecutorService compileExecutor;
  private final java.util.concurrent.ScheduledExecutorService streamExecutor;
  private final ModelRegistry models;
  private final Predictions predictions;
  private final TrainingMetrics metrics;
  private final DashboardServer dashboard;
  private final JobAdmission admission;

  private TandemServer(ServerSettings settings, HttpSettings http, Config config)
      throws IOException {
    this.settings = settings;
    // Before anything starts: a server that must not serve this address starts nothing.
    GrpcSecurity security = GrpcSecurity.create(config);
    security.checkBind(settings.host());
    // Refused here, once, rather than by every local worker as it starts.
    tandem.worker.Worker.updatesTogether(config);
    tandem.orchestrator.job.CoordinatorTimeouts.create(config);
    this.jobs = new JobStore(LimitSettings.create(config).retainedJobs());
    Config nodeConfig = settings.clusterPort() > 0
        ? ClusterSettings.config(config, settings.clusterHost(), settings.clusterPort(),
            settings.clusterHost() + ":" + settings.clusterPort())
        : config;
    this.system = ActorSystem.create(ServerGuardian.create(jobs, settings),
        ClusterSettings.SYSTEM_NAME, WorkerThreads.withDispatchers(nodeConfig,
            settings.localWorkers()));
    this.compileExecutor = Executors.newFixedThreadPool(2, daemon("tandem-spec-compiler"));
    this.models = new ModelRegistry(jobs, settings.checkpoints().jobDir());
    this.metrics = http.enabled() ? new TrainingMetrics(jobs, http.metricsTaskLabels()) : null;
    this.predictions = metrics == null ? new Predictions(ServingSettings.create(config))
        : new Predictions(ServingSettings.create(config), metrics::observePredict);
    this.streamExecutor = Executors.newScheduledThreadPool(2, daemon("tandem-event-stream"));
    this.admission = new JobAdmission(LimitSettings.create(config), new DataRoots(
        Path.of(""), config.getStringList("tandem.orchestrator.data-roots").stream()
            .map(Path::of).toList()), settings.clusterPort() > 0
        ? nodeConfig.getBytes("pekko.remote.artery.advanced.maximum-frame-size") : 0);
    // Before serving: a client that asks for a job the previous run had finds it.
    if (settings.checkpoints().enabled() && settings.checkpoints().resumeOnStart()) {
      resumeUnfinishedJobs();
    }
    this.health = new HealthStatusManager();
    this.server = security.apply(NettyServerBuilder.forAddress(
            new InetSocketAddress(settings.host(), settings.port())))
        .maxInboundMessageSize(admission.limits().requestBytes())
        .addService(MalformedRequests.guard(new TrainingService(jobs, system, system.scheduler(),
            compileExecutor, streamExecutor,
            EventPacing.shared(config.getDuration("tandem.orchestrator.event-stream-linger"),
                config.getDuration("tandem.orchestrator.event-stream-linger-max"),
                config.getDouble("tandem.orchestrator.event-stream-sends-per-second")),
            settings.askTimeout(), settings.checkpoints().jobDir(),
            new TaskAdditions(models, Path.of("").toAbsolutePath()), admission)))
        .addService(MalformedRequests.guard(new InferenceService(models, predictions,
            admission.limits().predictRows())))
        .addService(MalformedRequests.guard(new ModelService(models, compileExecutor,
            modelDir(config), admission.limits().modelBytes(), admission.limits().nameChars())))

        .addService(health.getHealthService())
        .addService(ProtoReflectionServiceV1.newInstance())
        .build()
        .start();
    health.setStatus("", ServingStatus.SERVING);
    health.setStatus(TrainingServiceGrpc.SERVICE_NAME, ServingStatus.SERVING);
    health.setStatus(InferenceServiceGrpc.SERVICE_NAME, ServingStatus.SERVING);
    health.setStatus(ModelServiceGrpc.SERVICE_NAME, ServingStatus.SERVING);
    // An actor system that stopped on its own trains nothing: health must not say SERVING.
    system.getWhenTerminated().thenRun(() -> {
      for (String service : new String[] {"", TrainingServiceGrpc.SERVICE_NAME,
          InferenceServiceGrpc.SERVICE_NAME, ModelServiceGrpc.SERVICE_NAME}) {
        health.setStatus(service, ServingStatus.NOT_SERVING);
      }
    });
    LOG.info("Tandem server listening on {}:{} with {} local workers ({}, {})", settings.host(),
        port(), settings.localWorkers(), security.tls() ? "TLS" : "plaintext",
        security.token().isEmpty() ? "no token" : "bearer token required");
    this.dashboard = http.enabled() ? startDashboard(http, config, security) : null;
  }

  /**
   * Resumes every job of the job directory that did not finish (the previous run stopped):
   * reads its checkpoint and compiles its spec (which loads its data) here, then waits until
   * the job manager has its record.
   */
  private void resumeUnfinishedJobs() {
    java.nio.file.Path jobDir = settings.checkpoints().jobDir();
    try {
      for (String jobId : Resumable.unfinished(jobDir)) {
        try {
          Resumable job = Resumable.load(jobDir, jobId);
          // Limits and data roots may have changed since it was submitted.
          admission.check(job.plan().spec());
          org.apache.pekko.actor.typed.javadsl.AskPattern.<JobManager.Command,
              JobManager.Outcome>ask(system, replyTo -> new JobManager.ResumeJob(jobId,
              job.checkpoint(), job.plan(), replyTo), settings.askTimeout(), system.scheduler())
              .toCompletableFuture().get();
          LOG.info("resuming job {} from {}", jobId, job.checkpoint() == null ? "its start"
              : "step " + job.checkpoint().step());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        } catch (OutOfMemoryError e) {
          // Its checkpoint, events or data do not fit in this server's memory. The server starts
          // without it, and the job stays unfinished: it resumes at the next start, once the
          // server has more memory (-Xmx, or JavaCPP's maxPhysicalBytes for tensors).
          LOG.error("cannot resume job {} from {}: out of memory ({}); the server starts without"
              + " it, and it is resumed at the next start, e.g. with more memory", jobId, jobDir,
              e.getMessage());
        } catch (Exception e) {
          // Marked failed: a job that cannot start now would fail again at every start.
          LOG.warn("cannot resume job {} from {}; marked failed", jobId, jobDir, e);
          try {
            new tandem.orchestrator.checkpoint.JobDirectory(jobDir, jobId)
                .markFinished(tandem.api.v1.JobState.JOB_STATE_FAILED.name());
          } catch (IOException markError) {
            LOG.warn("cannot mark job {} finished", jobId, markError);
          }
        }
      }
    } catch (IOException e) {
      LOG.warn("cannot list the jobs under {}", jobDir, e);
    }
  }

  /** {@code tandem.orchestrator.model-dir}, absolute; null when empty (no LoadModel). */
  private static Path modelDir(Config config) {
    String dir = config.getString("tandem.orchestrator.model-dir");
    return dir.isBlank() ? null : Path.of("").toAbsolutePath().resolve(dir).normalize();
  }

  /** The dashboard asks for the gRPC port's token too, and binds beyond loopback as it may. */
  private DashboardServer startDashboard(HttpSettings http, Config config, GrpcSecurity security)
      throws IOException {
    try {
      return DashboardServer.start(http, system, system, jobs, metrics, streamExecutor,
          config.getDuration("tandem.orchestrator.event-stream-linger"), settings.askTimeout(),
          security.token(), security.insecure());
    } catch (IOException | IllegalStateException e) {
      server.shutdownNow();
      close();
      throw e;
    }
  }

  /** Starts a server; it serves until {@link #close()}. HTTP as {@code config} says. */
  public static TandemServer start(ServerSettings settings, Config config) throws IOException {
    return new TandemServer(settings, HttpSettings.create(config), config);
  }

  /** Starts a server with the dashboard and /metrics as {@code http} says. */
  public static TandemServer start(ServerSettings settings, HttpSettings http, Config config)
      throws IOException {
    return new TandemServer(settings, http, config);
  }

  /** The dashboard's bound port; -1 without one. */
  public int httpPort() {
    return dashboard == null ? -1 : dashboard.port();
  }

  /** The bound port (the chosen one when the settings ask for port 0). */
  public int port() {
    return server.getPort();
  }

  /** Every job of this server. */
  public JobStore jobs() {
    return jobs;
  }

  /** The models this server answers with: loaded bundles and succeeded jobs. */
  /** The prediction batcher of {@code Predict} (tests count its batches). */
  public Predictions predictions() {
    return predictions;
  }

  public ModelRegistry models() {
    return models;
  }

  /** The job manager's address (the actor system's guardian forwards to it); for tests. */
  org.apache.pekko.actor.typed.ActorRef<JobManager.Command> jobManager() {
    return system;
  }

  org.apache.pekko.actor.typed.Scheduler jobManagerScheduler() {
    return system.scheduler();
  }

  public ServerSettings settings() {
    return settings;
  }

  /** Blocks until the server has shut down. */
  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  @Override
  public void close() {
    if (dashboard != null) {
      dashboard.close();
    }
    health.enterTerminalState();
    server.shutdown();
    try {
      if (!server.awaitTermination(settings.shutdownGrace().toMillis(), TimeUnit.MILLISECONDS)) {
        server.shutdownNow();
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
    compileExecutor.shutdownNow();
    predictions.close();
    streamExecutor.shutdownNow();
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture()
          .get(settings.shutdownGrace().toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      LOG.warn("actor system did not stop within {}", settings.shutdownGrace());
    }
    if (settings.checkpoints().enabled()) {
      // The checkpoints the jobs' coordinators queued as they stopped.
      try {
        tandem.orchestrator.checkpoint.CheckpointWriter.drain(settings.checkpoints().jobDir(),
            settings.shutdownGrace());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return runnable -> {
      Thread thread = new Thread(runnable, name);
      thread.setDaemon(true);
      return thread;
    };
  }
}
