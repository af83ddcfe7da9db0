package tandem.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tandem.api.v1.CancelJobRequest;
import tandem.api.v1.GetJobRequest;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.JobStatus;
import tandem.api.v1.ListJobsRequest;
import tandem.api.v1.ListJobsResponse;
import tandem.api.v1.StepCompleted;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.SubmitJobResponse;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingEventBatch;
import tandem.api.v1.TrainingServiceGrpc;

/** The client library against a real gRPC server on 127.0.0.1 serving a scripted fake service. */
class TandemClientTest {

  private final FakeTrainingService service = new FakeTrainingService();
  private Server server;
  private ManagedChannel channel;
  private TandemClient client;

  @BeforeEach
  void start() throws Exception {
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(service).build().start();
    channel = ManagedChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    client = new TandemClient(channel);
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void submitSendsTheSpecAndReturnsTheId() {
    JobSpec spec = JobSpec.newBuilder().setName("arith").setSeed(7).build();
    assertEquals("job-1", client.submit(spec));
    assertEquals(spec, service.submitted.get(0).getSpec());
  }

  @Test
  void invalidArgumentSurfacesWithTheServerMessage() {
    service.rejectSubmit = "tasks[0].path[1]: unknown module 'times3'";
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> client.submit(JobSpec.getDefaultInstance()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertEquals("tasks[0].path[1]: unknown module 'times3'", e.getStatus().getDescription());
  }

  @Test
  void getListAndCancelMapRequestsAndReplies() {
    assertEquals("job-7", client.job("job-7").getJobId());
    assertEquals("job-7", service.gets.get(0).getJobId());

    List<JobStatus> jobs = client.jobs();
    assertEquals(List.of("job-2", "job-1"), jobs.stream().map(JobStatus::getJobId).toList());
    assertEquals(false, service.lists.get(0).getOmitLossCurves(), "curves by default");
    client.jobs(false);
    assertEquals(true, service.lists.get(1).getOmitLossCurves());

    JobStatus cancelled = client.cancel("job-3");
    assertEquals(JobState.JOB_STATE_CANCELLED, cancelled.getState());
    assertEquals("job-3", service.cancels.get(0).getJobId());
  }

  @Test
  void notFoundIsAStatusException() {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> client.job("missing"));
    assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
  }

  @Test
  void blockingEventsPassAfterSequenceAndEndAfterJobFinished() {
    Iterator<TrainingEvent> events = client.events("job-1", 4);
    List<Long> sequences = new ArrayList<>();
    events.forEachRemaining(e -> sequences.add(e.getSequence()));
    assertEquals(List.of(5L, 6L, 7L), sequences);
    assertEquals(4, service.streams.get(0).getAfterSequence());
    assertEquals("job-1", service.streams.get(0).getJobId());
  }

  @Test
  void watchDeliversEventsThenCompletes() throws Exception {
    CountDownLatch done = new CountDownLatch(1);
    List<TrainingEvent> received = new CopyOnWriteArrayList<>();
    AtomicReference<Throwable> error = new AtomicReference<>();
    EventSubscription subscription = client.watch("job-1", 5, new EventListener() {
      @Override public void onEvent(TrainingEvent event) { received.add(event); }
      @Override public void onError(Throwable t) { error.set(t); done.countDown(); }
      @Override public void onCompleted() { done.countDown(); }
    });
    assertTrue(done.await(10, TimeUnit.SECONDS));
    assertEquals(null, error.get());
    assertEquals(List.of(6L, 7L), received.stream().map(TrainingEvent::getSequence).toList());
    assertTrue(received.get(1).hasJobFinished());
    assertFalse(subscription.isCancelled());
  }

  @Test
  void watchReportsStreamErrors() throws Exception {
    CountDownLatch done = new CountDownLatch(1);
    AtomicReference<Throwable> error = new AtomicReference<>();
    client.watch("missing", 0, new EventListener() {
      @Override public void onEvent(TrainingEvent event) {}
      @Override public void onError(Throwable t) { error.set(t); done.countDown(); }
      @Override public void onCompleted() { done.countDown(); }
    });
    assertTrue(done.await(10, TimeUnit.SECONDS));
    assertEquals(Status.Code.NOT_FOUND, Status.fromThrowable(error.get()).getCode());
  }

  @Test
  void cancelledWatchStopsTheServerStream() throws Exception {
    service.holdStreamOpen = true;
    CountDownLatch first = new CountDownLatch(1);
    EventSubscription subscription = client.watch("job-1", 0, new EventListener() {
      @Override public void onEvent(TrainingEvent event) { first.countDown(); }
      @Override public void onError(Throwable t) {}
      @Override public void onCompleted() {}
    });
    assertTrue(first.await(10, TimeUnit.SECONDS));
    subscription.cancel();
    assertTrue(subscription.isCancelled());
    assertTrue(service.streamCancelled.await(10, TimeUnit.SECONDS));
  }

  @Test
  void unreachableServerIsUnavailable() throws Exception {
    Server other = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).build().start();
    int port = other.getPort();
    other.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    ManagedChannel dead = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    try {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> new TandemClient(dead).jobs());
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    } finally {
      dead.shutdownNow();
    }
  }

  /** An incarnation the fake server's log was rewound past, to event 3. */
  static final long STALE_INCARNATION = 99;

  @Test
  void aResumeWithAStaleIncarnationIsToldOfTheRewindFirstThenGetsTheLogAgain() throws Exception {
    CountDownLatch done = new CountDownLatch(1);
    List<TrainingEvent> received = new CopyOnWriteArrayList<>();
    List<TrainingEvent> rewinds = new CopyOnWriteArrayList<>();
    client.watch("job-1", new StreamPosition(6, STALE_INCARNATION), new EventListener() {
      @Override public void onEvent(TrainingEvent event) { received.add(event); }
      @Override public void onLogRewound(TrainingEvent event) {
        assertTrue(received.isEmpty(), "the rewind comes first");
        rewinds.add(event);
      }
      @Override public void onError(Throwable t) { done.countDown(); }
      @Override public void onCompleted() { done.countDown(); }
    });
    assertTrue(done.await(10, TimeUnit.SECONDS));
    assertEquals(STALE_INCARNATION, service.streams.get(0).getIncarnation());
    assertEquals(6, service.streams.get(0).getAfterSequence());
    assertEquals(1, rewinds.size());
    assertEquals(3, rewinds.get(0).getLogRewound().getRewoundTo());
    assertEquals(List.of(4L, 5L, 6L, 7L), received.stream().map(TrainingEvent::getSequence).toList());
    StreamPosition position = new StreamPosition(6, STALE_INCARNATION);
    for (TrainingEvent event : concat(rewinds, received)) {
      assertTrue(position.isNext(event), position + " then " + event);
      position = position.advance(event);
    }
    assertEquals(new StreamPosition(7, 0), position);
  }

  private static List<TrainingEvent> concat(List<TrainingEvent> a, List<TrainingEvent> b) {
    List<TrainingEvent> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  /** Records requests and answers from a fixed script; one job log of seven events. */
  static final class FakeTrainingService extends TrainingServiceGrpc.TrainingServiceImplBase {
    final List<SubmitJobRequest> submitted = new CopyOnWriteArrayList<>();
    final List<GetJobRequest> gets = new CopyOnWriteArrayList<>();
    final List<ListJobsRequest> lists = new CopyOnWriteArrayList<>();
    final List<CancelJobRequest> cancels = new CopyOnWriteArrayList<>();
    final List<StreamEventsRequest> streams = new CopyOnWriteArrayList<>();
    final CountDownLatch streamCancelled = new CountDownLatch(1);
    volatile String rejectSubmit;
    volatile boolean holdStreamOpen;

    @Override
    public void submitJob(SubmitJobRequest request, StreamObserver<SubmitJobResponse> response) {
      submitted.add(request);
      if (rejectSubmit != null) {
        response.onError(Status.INVALID_ARGUMENT.withDescription(rejectSubmit).asRuntimeException());
        return;
      }
      response.onNext(SubmitJobResponse.newBuilder().setJobId("job-1").build());
      response.onCompleted();
    }

    @Override
    public void getJob(GetJobRequest request, StreamObserver<JobStatus> response) {
      gets.add(request);
      if (request.getJobId().equals("missing")) {
        response.onError(Status.NOT_FOUND.withDescription("no job missing").asRuntimeException());
        return;
      }
      response.onNext(JobStatus.newBuilder().setJobId(request.getJobId()).setState(JobState.JOB_STATE_RUNNING).build());
      response.onCompleted();
    }

    @Override
    public void listJobs(ListJobsRequest request, StreamObserver<ListJobsResponse> response) {
      lists.add(request);
      response.onNext(ListJobsResponse.newBuilder()
          .addJobs(JobStatus.newBuilder().setJobId("job-2"))
          .addJobs(JobStatus.newBuilder().setJobId("job-1"))
          .build());
      response.onCompleted();
    }

    @Override
    public void cancelJob(CancelJobRequest request, StreamObserver<JobStatus> response) {
      cancels.add(request);
      response.onNext(JobStatus.newBuilder().setJobId(request.getJobId()).setState(JobState.JOB_STATE_CANCELLED).build());
      response.onCompleted();
    }

    /** The events in batches of two (a log_rewound first, alone), as a server's reads might. */
    @Override
    public void streamEventBatches(StreamEventsRequest request,
        StreamObserver<TrainingEventBatch> response) {
      streams.add(request);
      if (request.getJobId().equals("missing")) {
        response.onError(Status.NOT_FOUND.withDescription("no job missing").asRuntimeException());
        return;
      }
      if (holdStreamOpen) {
        ((io.grpc.stub.ServerCallStreamObserver<TrainingEventBatch>) response).setOnCancelHandler(streamCancelled::countDown);
        response.onNext(TrainingEventBatch.newBuilder().addEvents(step(1, request.getJobId())).build());
        return; // Stays open until the client cancels.
      }
      long after = request.getAfterSequence();
      if (request.getIncarnation() == STALE_INCARNATION && after > 3) {
        response.onNext(TrainingEventBatch.newBuilder().addEvents(
            TrainingEvent.newBuilder().setSequence(3).setJobId(request.getJobId())
            .setIncarnation(5).setLogRewound(tandem.api.v1.LogRewound.newBuilder()
                .setAfterSequence(after).setAfterIncarnation(STALE_INCARNATION).setRewoundTo(3)
                .setIncarnation(5))).build());
        after = 3;
      }
      TrainingEventBatch.Builder batch = TrainingEventBatch.newBuilder();
      for (long seq = after + 1; seq <= 7; seq++) {
        batch.addEvents(seq == 7
            ? TrainingEvent.newBuilder().setSequence(7).setJobId(request.getJobId())
                .setJobFinished(JobFinished.newBuilder().setState(JobState.JOB_STATE_SUCCEEDED).setSteps(6)).build()
            : step(seq, request.getJobId()));
        if (batch.getEventsCount() == 2 || seq == 7) {
          response.onNext(batch.build());
          batch.clear();
        }
      }
      response.onCompleted();
    }

    private static TrainingEvent step(long seq, String jobId) {
      return TrainingEvent.newBuilder().setSequence(seq).setJobId(jobId)
          .setStepCompleted(StepCompleted.newBuilder().setStep(seq).setTask("t").setLoss(1.0 / seq)).build();
    }
  }
}
