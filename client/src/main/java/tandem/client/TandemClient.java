package tandem.client;

import io.grpc.Channel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import tandem.api.v1.AddTaskRequest;
import tandem.api.v1.BundleChunk;
import tandem.api.v1.CancelJobRequest;
import tandem.api.v1.ExportModelRequest;
import tandem.api.v1.InferenceServiceGrpc;
import tandem.api.v1.ListModelsRequest;
import tandem.api.v1.LoadModelRequest;
import tandem.api.v1.ModelInfo;
import tandem.api.v1.ModelServiceGrpc;
import tandem.api.v1.PredictRequest;
import tandem.api.v1.PredictResponse;
import tandem.api.v1.ScheduleSpec;
import tandem.api.v1.UpdateScheduleRequest;
import tandem.api.v1.GetJobRequest;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobStatus;
import tandem.api.v1.ListJobsRequest;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingEventBatch;
import tandem.api.v1.TrainingServiceGrpc;

/**
 * Java client of a Tandem server: submit jobs, query them, stream their events
 * ({@code TrainingService}); add tasks to trained models, predict, list, export and load models
 * ({@code InferenceService}, {@code ModelService}).
 *
 * <p>The client works over a {@link Channel} it is given; whoever built the channel shuts it down.
 * Every method reports a failed call by throwing {@link io.grpc.StatusRuntimeException} whose
 * status says why: {@code UNAVAILABLE} (no server at the channel's address), {@code
 * INVALID_ARGUMENT} (bad spec; the description names the field), {@code NOT_FOUND} (unknown job),
 * {@code FAILED_PRECONDITION} (e.g. cancelling a job that already ended), {@code
 * DEADLINE_EXCEEDED} (a unary call took longer than the client's deadline). Streaming calls report
 * the same statuses to {@link EventListener#onError}.
 *
 * <p>Thread-safe: one instance may be shared by any number of threads, as the stubs it wraps are.
 */
public final class TandemClient {

  /** Deadline of unary calls when none is given: long enough for a busy server, short enough to notice a hung one. */
  public static final Duration DEFAULT_DEADLINE = Duration.ofSeconds(30);

  private final TrainingServiceGrpc.TrainingServiceBlockingStub blocking;
  private final TrainingServiceGrpc.TrainingServiceStub async;
  private final InferenceServiceGrpc.InferenceServiceBlockingStub inference;
  private final ModelServiceGrpc.ModelServiceBlockingStub models;
  private final Duration deadline;

  /** A client whose unary calls time out after {@link #DEFAULT_DEADLINE}. */
  public TandemClient(Channel channel) {
    this(channel, DEFAULT_DEADLINE);
  }

  /** A client whose unary calls time out after {@code deadline}; streams have no deadline. */
  public TandemClient(Channel channel, Duration deadline) {
    Objects.requireNonNull(channel, "channel");
    if (deadline.isNegative() || deadline.isZero()) {
      throw new IllegalArgumentException("deadline must be positive, found " + deadline);
    }
    this.blocking = TrainingServiceGrpc.newBlockingStub(channel);
    this.async = TrainingServiceGrpc.newStub(channel);
    this.inference = InferenceServiceGrpc.newBlockingStub(channel);
    this.models = ModelServiceGrpc.newBlockingStub(channel);
    this.deadline = deadline;
  }

  /** Validates and starts a job; returns its id. {@code INVALID_ARGUMENT} names a bad field. */
  public String submit(JobSpec spec) {
    return unary().submitJob(SubmitJobRequest.newBuilder().setSpec(spec).build()).getJobId();
  }

  /** The job's current state, progress and (once it succeeded) evaluations. */
  public JobStatus job(String jobId) {
    return unary().getJob(GetJobRequest.newBuilder().setJobId(jobId).build());
  }

  /** Every job the server knows, newest first. */
  public List<JobStatus> jobs() {
    return jobs(true);
  }

  /**
   * Every job the server knows, newest first; without {@code lossCurves}, each task's loss curve
   * is left out (a listing of state and progress, far smaller and cheaper for the server).
   */
  public List<JobStatus> jobs(boolean lossCurves) {
    return unary().listJobs(ListJobsRequest.newBuilder().setOmitLossCurves(!lossCurves).build())
        .getJobsList();
  }

  /** Stops a running job and returns its status; {@code FAILED_PRECONDITION} if it already ended. */
  public JobStatus cancel(String jobId) {
    return unary().cancelJob(CancelJobRequest.newBuilder().setJobId(jobId).build());
  }

  /**
   * Restarts an unfinished job from its latest checkpoint; the server records it as a
   * {@code job_resumed} event. FAILED_PRECONDITION if it runs or succeeded, NOT_FOUND for an
   * unknown job.
   */
  public JobStatus resume(String jobId) {
    return unary().resumeJob(tandem.api.v1.ResumeJobRequest.newBuilder().setJobId(jobId).build());
  }

  /**
   * Replaces a running job's schedule from its next step on; the server records it as a
   * {@code schedule_updated} event. INVALID_ARGUMENT for a bad schedule (the message names the
   * field), FAILED_PRECONDITION if the job ended, NOT_FOUND for an unknown job.
   */
  public JobStatus updateSchedule(String jobId, ScheduleSpec schedule) {
    return unary().updateSchedule(UpdateScheduleRequest.newBuilder().setJobId(jobId)
        .setSchedule(schedule).build());
  }

  /**
   * Streams the job's events with a sequence number above {@code afterSequence} (0 for the whole
   * log), then live events until the job finishes (over {@code StreamEventBatches}: the events
   * that were ready together travel in one message). Returns at once; the listener is called on a
   * gRPC thread, one call at a time, and ends with exactly one of {@code onCompleted} (after the
   * job's {@code JobFinished}) or {@code onError} — unless the subscription is cancelled first,
   * after which it gets no further calls (bar one already running).
   */
  public EventSubscription watch(String jobId, long afterSequence, EventListener listener) {
    return watch(jobId, afterSequence, 0, listener);
  }

  /**
   * As {@link #watch(String, long, EventListener)}, resuming after event {@code afterSequence}
   * as received from a log of incarnation {@code incarnation} (its {@code
   * TrainingEvent.incarnation}; {@link StreamPosition} keeps both). If the job resumed from a
   * checkpoint since (a server restart), the events after some number are not the ones this
   * client got: the listener's {@link EventListener#onLogRewound} is called first with the number
   * the log was rewound to, then the events from the next one on.
   */
  public EventSubscription watch(String jobId, long afterSequence, long incarnation,
      EventListener listener) {
    Objects.requireNonNull(listener, "listener");
    ListenerAdapter adapter = new ListenerAdapter(listener);
    async.streamEventBatches(request(jobId, afterSequence, incarnation), adapter);
    return adapter;
  }

  /** {@link #watch(String, long, long, EventListener)} from a position a consumer kept. */
  public EventSubscription watch(String jobId, StreamPosition position, EventListener listener) {
    return watch(jobId, position.sequence(), position.incarnation(), listener);
  }

  /**
   * Blocking form of {@link #watch}: iterates the job's events until the job finishes. {@code
   * hasNext()} and {@code next()} throw {@link io.grpc.StatusRuntimeException} on failure. An
   * iterator abandoned before its end keeps its call open until the channel shuts down; use {@link
   * #watch} where a stream must be stopped early.
   */
  public Iterator<TrainingEvent> events(String jobId, long afterSequence) {
    return events(jobId, afterSequence, 0);
  }

  /**
   * Blocking form of {@link #watch(String, long, long, EventListener)}: a {@code log_rewound}
   * event comes first if the log was rewound past {@code afterSequence} (see {@link
   * StreamPosition#advance}).
   */
  public Iterator<TrainingEvent> events(String jobId, long afterSequence, long incarnation) {
    Iterator<TrainingEventBatch> batches =
        blocking.streamEventBatches(request(jobId, afterSequence, incarnation));
    return new Iterator<>() {
      private Iterator<TrainingEvent> batch = Collections.emptyIterator();

      @Override
      public boolean hasNext() {
        while (!batch.hasNext() && batches.hasNext()) {
          batch = batches.next().getEventsList().iterator();
        }
        return batch.hasNext();
      }

      @Override
      public TrainingEvent next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        return batch.next();
      }
    };
  }

  /**
   * Trains a new task on a trained model as a new job; returns its id. {@code NOT_FOUND} for an
   * unknown model or job, {@code INVALID_ARGUMENT} naming a bad field of the task or options.
   */
  public String addTask(AddTaskRequest request) {
    return unary().addTask(request).getJobId();
  }

  /** Scores and labels of one task's outputs for a batch of inputs. */
  public PredictResponse predict(PredictRequest request) {
    return inference.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS).predict(request);
  }

  /** Every model the server answers with: loaded bundles, then succeeded jobs. */
  public List<ModelInfo> models() {
    return inference.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
        .listModels(ListModelsRequest.getDefaultInstance()).getModelsList();
  }

  /** Makes the server load and serve a bundle file it can read. */
  public ModelInfo loadModel(String path, String name) {
    return models.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
        .loadModel(LoadModelRequest.newBuilder().setPath(path).setName(name).build());
  }

  /**
   * Saves the bundle of a model or succeeded job to {@code file}, atomically (a temporary file
   * next to it, renamed once complete); returns its size in bytes.
   */
  public long exportModel(ExportModelRequest request, Path file) throws IOException {
    Path target = file.toAbsolutePath();
    Path temp = Files.createTempFile(target.getParent(), target.getFileName().toString(), ".part");
    try {
      long size = 0;
      try (OutputStream out = Files.newOutputStream(temp)) {
        Iterator<BundleChunk> chunks = models.exportModel(request);
        while (chunks.hasNext()) {
          BundleChunk chunk = chunks.next();
          chunk.getData().writeTo(out);
          size += chunk.getData().size();
        }
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      return size;
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  private TrainingServiceGrpc.TrainingServiceBlockingStub unary() {
    // Deadlines are absolute, so each call gets a fresh one.
    return blocking.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS);
  }

  private static StreamEventsRequest request(String jobId, long afterSequence, long incarnation) {
    if (afterSequence < 0) {
      throw new IllegalArgumentException("afterSequence must be >= 0, found " + afterSequence);
    }
    return StreamEventsRequest.newBuilder().setJobId(jobId).setAfterSequence(afterSequence)
        .setIncarnation(incarnation).build();
  }

  /** Forwards the stream to the listener and lets the caller cancel it. */
  private static final class ListenerAdapter
      implements ClientResponseObserver<StreamEventsRequest, TrainingEventBatch>,
      EventSubscription {
    private final EventListener listener;
    private final AtomicBoolean cancelled = new AtomicBoolean();
    private volatile ClientCallStreamObserver<StreamEventsRequest> call;

    ListenerAdapter(EventListener listener) {
      this.listener = listener;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<StreamEventsRequest> requestStream) {
      // Runs inside asyncServerStreamingCall, so `call` is set before watch() returns.
      this.call = requestStream;
    }

    @Override
    public void onNext(TrainingEventBatch batch) {
      for (TrainingEvent event : batch.getEventsList()) {
        if (cancelled.get()) {
          return;
        }
        if (event.hasLogRewound()) {
          listener.onLogRewound(event);
        } else {
          listener.onEvent(event);
        }
      }
    }

    @Override
    public void onError(Throwable t) {
      if (!cancelled.get()) {
        listener.onError(t);
      }
    }

    @Override
    public void onCompleted() {
      if (!cancelled.get()) {
        listener.onCompleted();
      }
    }

    @Override
    public void cancel() {
      if (cancelled.compareAndSet(false, true)) {
        call.cancel("cancelled by the client", null);
      }
    }

    @Override
    public boolean isCancelled() {
      return cancelled.get();
    }
  }
}
