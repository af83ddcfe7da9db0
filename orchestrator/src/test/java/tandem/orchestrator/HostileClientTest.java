package tandem.orchestrator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.ClientCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import tandem.api.v1.CancelJobRequest;
import tandem.api.v1.GetJobRequest;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.ResumeJobRequest;
import tandem.api.v1.StopCondition;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingServiceGrpc;
import tandem.api.v1.UpdateScheduleRequest;

/**
 * What a careless or hostile client sends, through a real server on 127.0.0.1: each attack is
 * refused with the right status and a message naming the field or limit, no text of a canary file
 * comes back, the server still answers, and a job submitted before the attacks trains to its end.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostileClientTest {

  /** Text of a file no client may read; it must never come back in a reply. */
  static final String CANARY = "canary-7f3a9c-never-echo-me";

  @TempDir
  static Path dirs;

  static TandemServer server;
  static ManagedChannel channel;
  static String runningJob;
  static String finishedJob;
  static Path canary;

  /** One hostile request: what it does, the status it must get, and words its message must hold. */
  record Attack(String name, Supplier<StatusRuntimeException> request, Status.Code code,
      String... words) {
    @Override
    public String toString() {
      return name;
    }
  }

  @BeforeAll
  static void start() throws Exception {
    Files.createDirectories(dirs.resolve("outside"));
    canary = Files.writeString(dirs.resolve("outside").resolve("secret.csv"),
        "1,2,3\n" + CANARY + "," + CANARY + "\n");
    server = TestServers.start(2, dirs.resolve("jobs"));
    channel = TestServers.channel(server);
    finishedJob = submit(Specs.example("arithmetic").toBuilder()
        .setStop(StopCondition.newBuilder().setMaxSteps(50)).build());
    last(finishedJob);
    runningJob = submit(Specs.example("arithmetic").toBuilder()
        .setStop(StopCondition.newBuilder().setMaxSteps(3000)).build());
  }

  @AfterAll
  static void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.close();
  }

  static Stream<Attack> attacks() {
    String huge = "x".repeat(1 << 20);
    return Stream.of(
        // Traversal and malformed job ids: they name directories and actors.
        new Attack("ResumeJob with a traversal id", () -> call(() -> training().resumeJob(
            ResumeJobRequest.newBuilder().setJobId("../jobs/" + finishedJob).build())),
            Status.Code.INVALID_ARGUMENT, "job_id", "job-\\d{1,18}"),
        new Attack("ResumeJob with ../x", () -> call(() -> training().resumeJob(
            ResumeJobRequest.newBuilder().setJobId("../x").build())),
            Status.Code.INVALID_ARGUMENT, "job_id"),
        new Attack("ResumeJob with an absolute path", () -> call(() -> training().resumeJob(
            ResumeJobRequest.newBuilder().setJobId(dirs.resolve("jobs").resolve(finishedJob)
                .toString()).build())), Status.Code.INVALID_ARGUMENT, "job_id"),
        new Attack("GetJob with a traversal id", () -> call(() -> training().getJob(
            GetJobRequest.newBuilder().setJobId("job-0001/../../etc").build())),
            Status.Code.INVALID_ARGUMENT, "job_id"),
        new Attack("CancelJob with a traversal id", () -> call(() -> training().cancelJob(
            CancelJobRequest.newBuilder().setJobId("../" + runningJob).build())),
            Status.Code.INVALID_ARGUMENT, "job_id"),
        new Attack("UpdateSchedule with a bad id", () -> call(() -> training().updateSchedule(
            UpdateScheduleRequest.newBuilder().setJobId("job-1; rm").build())),
            Status.Code.INVALID_ARGUMENT, "job_id"),
        new Attack("StreamEvents with a bad id", () -> call(() -> training().streamEvents(
            StreamEventsRequest.newBuilder().setJobId("..").build()).hasNext()),
            Status.Code.INVALID_ARGUMENT, "job_id"),
        new Attack("a 1 MB job id is not echoed whole", () -> call(() -> training().getJob(
            GetJobRequest.newBuilder().setJobId(huge).build())),
            Status.Code.INVALID_ARGUMENT, "job_id", "1048576 characters"),
        new Attack("ResumeJob of a job that never checkpointed", () -> call(() ->
            training().resumeJob(ResumeJobRequest.newBuilder().setJobId(cancelledJob())
                .build())), Status.Code.FAILED_PRECONDITION, "no checkpoint"),
        // Garbage on the wire.
        new Attack("random bytes", () -> raw("tandem.v1.TrainingService/SubmitJob",
            new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff,
                (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff}),
            Status.Code.INVALID_ARGUMENT, "request", "SubmitJob"),
        new Attack("a zero tag", () -> raw("tandem.v1.TrainingService/GetJob", new byte[] {0, 0}),
            Status.Code.INVALID_ARGUMENT, "request"),
        new Attack("a truncated message", () -> raw("tandem.v1.TrainingService/GetJob",
            new byte[] {0x0a, 0x08, 'j', 'o', 'b'}), Status.Code.INVALID_ARGUMENT, "request"),
        new Attack("invalid UTF-8 in a string", () -> raw("tandem.v1.TrainingService/GetJob",
            new byte[] {0x0a, 0x02, (byte) 0xc3, 0x28}), Status.Code.INVALID_ARGUMENT,
            "request", "UTF-8"),
        new Attack("deeply nested unknown groups", () -> raw(
            "tandem.v1.TrainingService/SubmitJob", nestedGroups(500)),
            Status.Code.INVALID_ARGUMENT, "request"),
        new Attack("a field claiming 2 GiB", () -> raw("tandem.v1.TrainingService/SubmitJob",
            new byte[] {0x0a, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x08, 1, 2}),
            Status.Code.INVALID_ARGUMENT, "request"),
        new Attack("garbage to Predict", () -> raw("tandem.v1.InferenceService/Predict",
            new byte[] {0x0a, 0x7f, 1}), Status.Code.INVALID_ARGUMENT, "request", "Predict"),
        new Attack("garbage to LoadModel", () -> raw("tandem.v1.ModelService/LoadModel",
            new byte[] {(byte) 0x80}), Status.Code.INVALID_ARGUMENT, "request"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("attacks")
  @Order(1)
  void isRefusedAndTheServerGoesOn(Attack attack) {
    StatusRuntimeException error = attack.request().get();
    assertEquals(attack.code(), error.getStatus().getCode(), String.valueOf(error.getStatus()));
    String message = String.valueOf(error.getStatus().getDescription());
    for (String word : attack.words()) {
      assertTrue(message.contains(word), "expected '" + word + "' in: " + message);
    }
    assertTrue(message.length() < 2000, "a short message, found " + message.length() + " chars");
    assertFalse(message.contains(CANARY), message);
    assertServerAnswers();
  }

  @Test
  @Order(2)
  void streamsAfterTheLastSequenceNumbersEndAtOnceOnAFinishedJob() {
    for (long after : new long[] {Long.MAX_VALUE, Long.MAX_VALUE - 1, Long.MAX_VALUE / 2}) {
      Iterator<TrainingEvent> events = TrainingServiceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(20, TimeUnit.SECONDS).streamEvents(StreamEventsRequest.newBuilder()
              .setJobId(finishedJob).setAfterSequence(after).build());
      assertFalse(events.hasNext(), "no events after " + after);
    }
    assertServerAnswers();
  }

  @Test
  @Order(100)
  void theJobSubmittedBeforeTheAttacksTrainsToTheEnd() {
    TrainingEvent end = last(runningJob);
    assertEquals(JobState.JOB_STATE_SUCCEEDED, end.getJobFinished().getState(), end.toString());
    assertEquals(3000, training().getJob(GetJobRequest.newBuilder().setJobId(runningJob).build())
        .getStepsDone());
  }

  // ---- helpers ----

  private static String cancelledJobId;

  /** A job cancelled before its first checkpoint. */
  static synchronized String cancelledJob() {
    if (cancelledJobId == null) {
      cancelledJobId = submit(Specs.example("arithmetic").toBuilder()
          .setStop(StopCondition.newBuilder().setMaxSteps(1_000_000)).build());
      training().cancelJob(CancelJobRequest.newBuilder().setJobId(cancelledJobId).build());
      last(cancelledJobId);
    }
    return cancelledJobId;
  }

  static void assertServerAnswers() {
    assertEquals(HealthCheckResponse.ServingStatus.SERVING, HealthGrpc.newBlockingStub(channel)
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .check(HealthCheckRequest.getDefaultInstance()).getStatus());
    JobState state = training().getJob(GetJobRequest.newBuilder().setJobId(runningJob).build())
        .getState();
    assertTrue(state == JobState.JOB_STATE_RUNNING || state == JobState.JOB_STATE_PENDING
        || state == JobState.JOB_STATE_SUCCEEDED, state.toString());
  }

  static TrainingServiceGrpc.TrainingServiceBlockingStub training() {
    return TrainingServiceGrpc.newBlockingStub(channel).withDeadlineAfter(1, TimeUnit.MINUTES);
  }

  static String submit(JobSpec spec) {
    return training().submitJob(SubmitJobRequest.newBuilder().setSpec(spec).build()).getJobId();
  }

  static TrainingEvent last(String jobId) {
    Iterator<TrainingEvent> events = TrainingServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(3, TimeUnit.MINUTES)
        .streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId).build());
    TrainingEvent last = null;
    while (events.hasNext()) {
      last = events.next();
    }
    return last;
  }

  /** The error {@code request} ends with; fails if it succeeds. */
  static StatusRuntimeException call(Runnable request) {
    return assertThrows(StatusRuntimeException.class, request::run);
  }

  /** Sends {@code bytes} as the request of {@code method}, unchecked. */
  static StatusRuntimeException raw(String method, byte[] bytes) {
    MethodDescriptor<byte[], byte[]> descriptor = MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName(method)
        .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();
    return call(() -> ClientCalls.blockingUnaryCall(channel, descriptor,
        CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), bytes));
  }

  /** {@code depth} start-group tags of an unknown field, never closed. */
  static byte[] nestedGroups(int depth) {
    byte[] tagged = new byte[depth * 2];
    for (int i = 0; i < depth; i++) {
      // Field 99, wire type 3 (start group), as a two-byte varint.
      tagged[2 * i] = (byte) (((99 << 3) | 3) & 0x7f | 0x80);
      tagged[2 * i + 1] = (byte) (((99 << 3) | 3) >>> 7);
    }
    return tagged;
  }

  static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };
}
