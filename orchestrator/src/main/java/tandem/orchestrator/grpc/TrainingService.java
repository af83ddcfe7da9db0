package tandem.orchestrator.grpc;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tandem.api.v1.AddTaskRequest;
import tandem.api.v1.CancelJobRequest;
import tandem.api.v1.GetJobRequest;
import tandem.api.v1.JobState;
import tandem.api.v1.JobStatus;
import tandem.api.v1.ListJobsRequest;
import tandem.api.v1.ListJobsResponse;
import tandem.api.v1.ResumeJobRequest;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.SubmitJobResponse;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingServiceGrpc;
import tandem.api.v1.UpdateScheduleRequest;
import tandem.model.spec.ScheduleSettings;
import tandem.model.spec.SettingsSpecs;
import tandem.model.spec.InvalidSpecException;
import tandem.model.spec.JobSpecCompiler;
import tandem.model.spec.TrainingPlan;
import tandem.orchestrator.admission.JobAdmission;
import tandem.orchestrator.admission.LimitExceededException;
import tandem.orchestrator.admission.Names;
import tandem.orchestrator.checkpoint.Resumable;
import tandem.orchestrator.job.JobManager;
import tandem.orchestrator.job.JobRecord;
import tandem.orchestrator.job.JobStore;
import tandem.orchestrator.serving.ModelLookupException;
import tandem.orchestrator.serving.TaskAdditions;

/**
 * gRPC adapter of the training API: validates and compiles specs off the gRPC threads, asks the
 * {@link JobManager} to start or cancel jobs, reads status from the {@link JobStore}, and streams
 * event logs with flow control ({@link EventStream}). Thread-safe.
 */
public final class TrainingService implements TrainingServiceGrpc.AsyncService,
    io.grpc.BindableService {

  private static final Logger LOG = LoggerFactory.getLogger(TrainingService.class);

  private final JobStore store;
  private final ActorRef<JobManager.Command> jobManager;
  private final Scheduler scheduler;
  private final Executor compileExecutor;
  private final java.util.concurrent.ScheduledExecutorService streamExecutor;
  private final EventPacing eventPacing;
  private final Duration askTimeout;
  private final java.nio.file.Path jobDir;
  private final TaskAdditions additions;
  private final JobAdmission admission;

  /**
   * @param compileExecutor runs spec compilation (reads data files), never a gRPC thread
   * @param streamExecutor delivers events to subscribers
   * @param eventPacing how long a new event waits for others to go out with it to a subscriber
   * @param jobDir where jobs keep their checkpoints; null: ResumeJob finds none
   * @param additions plans AddTask jobs
   * @param admission what a spec must pass before it is compiled: limits, names, data roots
   */
  public TrainingService(JobStore store, ActorRef<JobManager.Command> jobManager,
      Scheduler scheduler, Executor compileExecutor,
      java.util.concurrent.ScheduledExecutorService streamExecutor, EventPacing eventPacing,
      Duration askTimeout, java.nio.file.Path jobDir, TaskAdditions additions,
      JobAdmission admission) {
    this.admission = admission;
    this.jobDir = jobDir;
    this.store = store;
    this.jobManager = jobManager;
    this.scheduler = scheduler;
    this.compileExecutor = compileExecutor;
    this.streamExecutor = streamExecutor;
    this.eventPacing = eventPacing;
    this.askTimeout = askTimeout;
    this.additions = additions;
  }

  @Override
  public void submitJob(SubmitJobRequest request, StreamObserver<SubmitJobResponse> response) {
    if (!request.hasSpec()) {
      response.onError(Status.INVALID_ARGUMENT.withDescription("spec: missing").asException());
      return;
    }
    try {
      admission.checkConcurrent(store.all().stream().filter(r -> !r.events().complete()).count());
    } catch (LimitExceededException e) {
      response.onError(Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage()).asException());
      return;
    }
    CompletableFuture
        .supplyAsync(() -> compile(request), compileExecutor)
        .thenCompose(plan -> AskPattern.<JobManager.Command, String>ask(jobManager,
            replyTo -> new JobManager.StartJob(request.getSpec(), plan, replyTo), askTimeout,
            scheduler))
        .whenComplete((jobId, error) -> {
          if (error == null) {
            response.onNext(SubmitJobResponse.newBuilder().setJobId(jobId).build());
            response.onCompleted();
          } else {
            response.onError(toStatus(error, "submit job"));
          }
        });
  }

  @Override
  public void addTask(AddTaskRequest request, StreamObserver<SubmitJobResponse> response) {
    CompletableFuture
        .supplyAsync(() -> {
          try {
            admission.checkTask(request.getTask(), "task");
            admission.checkModules(request.getModulesList());
            admission.roots().checkTask(request.getTask(), "task");
            return additions.plan(request);
          } catch (InvalidSpecException | ModelLookupException | LimitExceededException e) {
            throw new java.util.concurrent.CompletionException(e);
          }
        }, compileExecutor)
        .thenCompose(addition -> AskPattern.<JobManager.Command, String>ask(jobManager,
            replyTo -> new JobManager.StartJob(addition.spec(), addition.plan(), replyTo),
            askTimeout, scheduler))
        .whenComplete((jobId, error) -> {
          if (error == null) {
            response.onNext(SubmitJobResponse.newBuilder().setJobId(jobId).build());
            response.onCompleted();
          } else {
            response.onError(toStatus(error, "add task"));
          }
        });
  }

  @Override
  public void getJob(GetJobRequest request, StreamObserver<JobStatus> response) {
    if (!validJobId(request.getJobId(), response)) {
      return;
    }
    store.find(request.getJobId()).ifPresentOrElse(record -> {
      response.onNext(status(record, request.getOmitLossCurves()));
      response.onCompleted();
    }, () -> response.onError(unknownJob(request.getJobId())));
  }

  /** A job's status, its tasks' loss curves left out on request ({@code omit_loss_curves}). */
  private static JobStatus status(JobRecord record, boolean omitLossCurves) {
    return omitLossCurves ? record.events().statusWithoutCurves() : record.events().status();
  }

  @Override
  public void listJobs(ListJobsRequest request, StreamObserver<ListJobsResponse> response) {
    ListJobsResponse.Builder jobs = ListJobsResponse.newBuilder();
    store.all().forEach(record -> jobs.addJobs(status(record, request.getOmitLossCurves())));
    response.onNext(jobs.build());
    response.onCompleted();
  }

  @Override
  public void cancelJob(CancelJobRequest request, StreamObserver<JobStatus> response) {
    if (!validJobId(request.getJobId(), response)) {
      return;
    }
    CompletionStage<JobManager.Outcome> outcome = AskPattern.ask(jobManager,
        replyTo -> new JobManager.CancelJob(request.getJobId(), replyTo), askTimeout, scheduler);
    outcome.whenComplete((result, error) -> reply(request.getJobId(), result, error,
        "cancel job", response));
  }

  /** Answers a command to a running job with its status, or why it could not take it. */
  private void reply(String jobId, JobManager.Outcome result, Throwable error, String what,
      StreamObserver<JobStatus> response) {
    if (error != null) {
      response.onError(toStatus(error, what));
    } else if (result == JobManager.Outcome.FAILED) {
      response.onError(Status.INTERNAL.withDescription(what + " failed; see the server log")
          .asException());
    } else if (result == JobManager.Outcome.UNKNOWN_JOB) {
      response.onError(unknownJob(jobId));
    } else if (result == JobManager.Outcome.NOT_RUNNING) {
      JobState state = store.find(jobId).orElseThrow().events().state();
      response.onError(Status.FAILED_PRECONDITION.withDescription("job " + jobId
          + " is not running: it is " + JobStatuses.label(state)).asException());
    } else {
      response.onNext(store.find(jobId).orElseThrow().events().status());
      response.onCompleted();
    }
  }

  @Override
  public void updateSchedule(UpdateScheduleRequest request, StreamObserver<JobStatus> response) {
    if (!validJobId(request.getJobId(), response)) {
      return;
    }
    java.util.Optional<JobRecord> record = store.find(request.getJobId());
    if (record.isEmpty()) {
      response.onError(unknownJob(request.getJobId()));
      return;
    }
    ScheduleSettings settings;
    try {
      settings = SettingsSpecs.schedule(request.getSchedule(), record.get().spec().getTasksList()
          .stream().map(tandem.api.v1.TaskSpec::getName).toList(), "schedule");
    } catch (InvalidSpecException e) {
      response.onError(Status.INVALID_ARGUMENT.withDescription(Names.cap(e.getMessage()))
          .asException());
      return;
    }
    CompletionStage<JobManager.Outcome> outcome = AskPattern.ask(jobManager,
        replyTo -> new JobManager.UpdateSchedule(request.getJobId(), request.getSchedule(),
            settings, replyTo), askTimeout, scheduler);
    outcome.whenComplete((result, error) -> reply(request.getJobId(), result, error,
        "update schedule", response));
  }

  @Override
  public void resumeJob(ResumeJobRequest request, StreamObserver<JobStatus> response) {
    String jobId = request.getJobId();
    if (!validJobId(jobId, response)) {
      return;
    }
    java.util.Optional<JobRecord> record = store.find(jobId);
    if (jobDir == null || !Resumable.exists(jobDir, jobId)) {
      response.onError(record.isEmpty() ? unknownJob(jobId)
          : Status.FAILED_PRECONDITION.withDescription("job " + jobId
              + " has no job directory to resume from").asException());
      return;
    }
    if (record.isPresent()) {
      JobState state = record.get().events().state();
      if (state == JobState.JOB_STATE_SUCCEEDED || !record.get().events().complete()) {
        response.onError(Status.FAILED_PRECONDITION.withDescription("job " + jobId
            + " cannot be resumed: it is " + JobStatuses.label(state)).asException());
        return;
      }
    }
    CompletableFuture
        .supplyAsync(() -> load(jobId), compileExecutor)
        .thenApply(job -> {
          if (job.checkpoint() == null) {
            throw Status.FAILED_PRECONDITION.withDescription("job " + jobId
                + " has no checkpoint to resume from").asRuntimeException();
          }
          return job;
        })
        .thenCompose(job -> AskPattern.<JobManager.Command, JobManager.Outcome>ask(jobManager,
            replyTo -> new JobManager.ResumeJob(jobId, job.checkpoint(), job.plan(), replyTo),
            askTimeout, scheduler))
        .whenComplete((result, error) -> {
          if (result == JobManager.Outcome.ALREADY_RUNNING) {
            response.onError(Status.FAILED_PRECONDITION.withDescription("job " + jobId
                + " is running").asException());
          } else {
            reply(jobId, result, error, "resume job", response);
          }
        });
  }

  private Resumable load(String jobId) {
    try {
      Resumable job = Resumable.load(jobDir, jobId);
      admission.check(job.plan().spec());
      return job;
    } catch (LimitExceededException e) {
      throw new java.util.concurrent.CompletionException(e);
    } catch (InvalidSpecException e) {
      throw new java.util.concurrent.CompletionException(e);
    } catch (java.io.IOException e) {
      throw new java.util.concurrent.CompletionException(e);
    }
  }

  /**
   * The generated definition, with {@code StreamEvents} and {@code StreamEventBatches} sending
   * the bytes each event's log serialized once for all subscribers ({@link SerializedEvents});
   * {@code StreamEventBatches} is served only this way.
   */
  @Override
  public io.grpc.ServerServiceDefinition bindService() {
    return SerializedEvents.withSerializedStreams(TrainingServiceGrpc.bindService(this),
        io.grpc.stub.ServerCalls.asyncServerStreamingCall((request, response) ->
            streamEvents(request, response, (log, observer) -> EventStream.serialized(log,
                request.getAfterSequence(), request.getIncarnation(), observer, streamExecutor,
                eventPacing))),
        io.grpc.stub.ServerCalls.asyncServerStreamingCall((request, response) ->
            streamEvents(request, response, (log, observer) -> EventStream.batched(log,
                request.getAfterSequence(), request.getIncarnation(), observer, streamExecutor,
                eventPacing))));
  }

  @Override
  public void streamEvents(StreamEventsRequest request, StreamObserver<TrainingEvent> response) {
    streamEvents(request, response, (log, observer) -> new EventStream(log,
        request.getAfterSequence(), request.getIncarnation(), observer, streamExecutor,
        eventPacing));
  }

  /** Checks the request and the subscriber limit, then streams the job's log to {@code response}. */
  private <T> void streamEvents(StreamEventsRequest request, StreamObserver<T> response,
      java.util.function.BiFunction<tandem.orchestrator.job.EventLog, ServerCallStreamObserver<T>,
          EventStream> stream) {
    if (!validJobId(request.getJobId(), response)) {
      return;
    }
    if (request.getAfterSequence() < 0) {
      response.onError(Status.INVALID_ARGUMENT
          .withDescription("after_sequence: must be 0 or more, found " + request.getAfterSequence())
          .asException());
      return;
    }
    java.util.Optional<JobRecord> followed = store.find(request.getJobId());
    int subscribers = followed.map(r -> r.events().listenerCount()).orElse(0);
    if (subscribers >= admission.limits().subscribersPerJob()) {
      response.onError(Status.RESOURCE_EXHAUSTED.withDescription(new LimitExceededException(
          "job_id", "subscribers of job " + request.getJobId(), subscribers + 1,
          admission.limits().subscribersPerJob(), "subscribers-per-job").getMessage())
          .asException());
      return;
    }
    followed.ifPresentOrElse(
        record -> stream.apply(record.events(), (ServerCallStreamObserver<T>) response).start(),
        () -> response.onError(unknownJob(request.getJobId())));
  }

  private TrainingPlan compile(SubmitJobRequest request) {
    try {
      admission.check(request.getSpec());
      return JobSpecCompiler.compile(request.getSpec());
    } catch (InvalidSpecException | LimitExceededException e) {
      throw new java.util.concurrent.CompletionException(e);
    }
  }

  private static Exception unknownJob(String jobId) {
    return Status.NOT_FOUND.withDescription("no job with id " + RequestFields.quote(jobId))
        .asException();
  }

  /**
   * Whether {@code jobId} is a job id; if not, answers INVALID_ARGUMENT. Ids name directories
   * and actors: {@code ../x} must never get that far.
   */
  private static boolean validJobId(String jobId, StreamObserver<?> response) {
    try {
      RequestFields.checkJobId("job_id", jobId);
      return true;
    } catch (RequestFields.RequestException e) {
      response.onError(e.status().asException());
      return false;
    }
  }

  private static Exception toStatus(Throwable error, String what) {
    Throwable cause = error instanceof java.util.concurrent.CompletionException
        && error.getCause() != null ? error.getCause() : error;
    if (cause instanceof io.grpc.StatusRuntimeException refused) {
      return refused;
    }
    if (cause instanceof ModelLookupException lookup) {
      return (lookup.reason() == ModelLookupException.Reason.UNKNOWN ? Status.NOT_FOUND
          : Status.FAILED_PRECONDITION).withDescription(Names.cap(lookup.getMessage()))
          .asException();
    }
    if (cause instanceof LimitExceededException limit) {
      return Status.RESOURCE_EXHAUSTED.withDescription(Names.cap(limit.getMessage()))
          .asException();
    }
    if (cause instanceof InvalidSpecException invalid) {
      return Status.INVALID_ARGUMENT.withDescription(Names.cap(invalid.getMessage()))
          .asException();
    }
    if (cause instanceof java.util.concurrent.TimeoutException) {
      return Status.UNAVAILABLE.withDescription("the server is busy or shutting down").asException();
    }
    LOG.error("{} failed", what, cause);
    return Status.INTERNAL.withDescription(what + " failed; see the server log").asException();
  }
}
