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
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import com.typesafe.config.ConfigFactory;
import tandem.api.v1.BuiltinData;
import tandem.api.v1.CheckpointSpec;
import tandem.api.v1.ConllData;
import tandem.api.v1.CsvData;
import tandem.api.v1.CsvField;
import tandem.api.v1.DataSpec;
import tandem.api.v1.DenseLayer;
import tandem.api.v1.DenseStack;
import tandem.api.v1.ModuleSpec;
import tandem.api.v1.TextPairData;
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
  static long residentBefore;

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
    Path data = Files.createDirectories(dirs.resolve("data"));
    // Inside the data root, but each a way out or a trap.
    Files.createSymbolicLink(data.resolve("link.csv"), canary);
    Files.createDirectories(data.resolve("folder.csv"));
    new ProcessBuilder("mkfifo", data.resolve("fifo.csv").toString()).start().waitFor();
    // Readable, but with a delimiter that does not occur, every line is one cell.
    Files.writeString(data.resolve("cells.csv"), CANARY + "\n" + CANARY + "\n");
    Files.writeString(data.resolve("labels.csv"), "0,0,0,1,0,0,0,0,1," + CANARY + "\n");
    Path models = Files.createDirectories(dirs.resolve("models"));
    Files.createSymbolicLink(models.resolve("link.tandem"), canary);
    new ProcessBuilder("mkfifo", models.resolve("fifo.tandem").toString()).start().waitFor();
    Files.writeString(models.resolve("text.tandem"), CANARY + "\n");
    server = TestServers.start(2, dirs.resolve("jobs"), ConfigFactory.parseMap(Map.of(
        "tandem.orchestrator.model-dir", models.toString(),
        "tandem.orchestrator.data-roots", List.of(data.toString()),
        "tandem.orchestrator.limits.subscribers-per-job", 4,
        "tandem.orchestrator.limits.concurrent-jobs", 3)));
    channel = TestServers.channel(server);
    finishedJob = submit(Specs.example("arithmetic").toBuilder()
        .setStop(StopCondition.newBuilder().setMaxSteps(50)).build());
    last(finishedJob);
    // Warm-up: a job like the one that trains during the attacks, so that the baseline has the
    // JIT's code, the loaded classes and the worker's buffers a first job brings (a cold-start
    // baseline counts them as growth).
    last(submit(Specs.example("arithmetic").toBuilder()
        .setStop(StopCondition.newBuilder().setMaxSteps(3000)).build()));
    residentBefore = residentBytesAfterGc();
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
            new byte[] {(byte) 0x80}), Status.Code.INVALID_ARGUMENT, "request"),
        new Attack("a request over the size limit", () -> call(() -> training().getJob(
            GetJobRequest.newBuilder().setJobId("x".repeat(5 << 20)).build())),
            Status.Code.RESOURCE_EXHAUSTED, "4194304"));
  }

  /** Specs that reach outside the data roots or into a trap inside them. */
  static Stream<Attack> dataAttacks() {
    String field = "tasks[0].data.csv.path";
    return Stream.of(
        spec("an absolute path outside the roots", s -> s.getTasksBuilder(0)
            .setData(csv(canary.toString(), 0)), Status.Code.INVALID_ARGUMENT, field,
            "data roots", "data-root"),
        spec("a .. escape from a root", s -> s.getTasksBuilder(0).setData(csv(
            dirs.resolve("data") + "/../outside/secret.csv", 0)), Status.Code.INVALID_ARGUMENT,
            field, "data roots"),
        spec("a relative escape", s -> s.getTasksBuilder(0).setData(csv(
            "../../../../../../../../etc/passwd", 5)), Status.Code.INVALID_ARGUMENT, field,
            "data roots"),
        spec("/etc/passwd with skipLines", s -> s.getTasksBuilder(0).setData(csv(
            "/etc/passwd", 5)), Status.Code.INVALID_ARGUMENT, field, "data roots"),
        spec("/proc/self/environ", s -> s.getTasksBuilder(0).setData(csv(
            "/proc/self/environ", 0)), Status.Code.INVALID_ARGUMENT, field, "data roots"),
        spec("a symbolic link out of a root", s -> s.getTasksBuilder(0).setData(csv(
            dirs.resolve("data").resolve("link.csv").toString(), 0)),
            Status.Code.INVALID_ARGUMENT, field, "data roots"),
        spec("a FIFO in a root", s -> s.getTasksBuilder(0).setData(csv(
            dirs.resolve("data").resolve("fifo.csv").toString(), 0)),
            Status.Code.INVALID_ARGUMENT, field, "regular"),
        spec("a directory in a root", s -> s.getTasksBuilder(0).setData(csv(
            dirs.resolve("data").resolve("folder.csv").toString(), 0)),
            Status.Code.INVALID_ARGUMENT, field, "regular"),
        spec("a CoNLL path outside", s -> s.getTasksBuilder(0).setData(DataSpec.newBuilder()
            .setConll(ConllData.newBuilder().setPath(canary.toString()))),
            Status.Code.INVALID_ARGUMENT, "tasks[0].data.conll.path", "data roots"),
        spec("a text-pair path outside", s -> s.getTasksBuilder(0).setData(DataSpec.newBuilder()
            .setTextPairs(TextPairData.newBuilder().setPath(canary.toString()))),
            Status.Code.INVALID_ARGUMENT, "tasks[0].data.textPairs.path", "data roots"),
        spec("evaluation data outside", s -> s.getTasksBuilder(1).setEvalData(csv(
            canary.toString(), 0)), Status.Code.INVALID_ARGUMENT, "tasks[1].evalData.csv.path",
            "data roots"),
        spec("a cell that is a whole line is not quoted", s -> s.getTasksBuilder(0).setData(csv(
            dirs.resolve("data").resolve("cells.csv").toString(), 0)),
            Status.Code.INVALID_ARGUMENT, "tasks[0].data.csv", "cells.csv"),
        spec("a bad label is not quoted", s -> s.getTasksBuilder(0).setData(csv(
            dirs.resolve("data").resolve("labels.csv").toString(), 0)),
            Status.Code.INVALID_ARGUMENT, "tasks[0].data.csv", "line 1, column"));
  }

  /** LoadModel and Predict outside the models directory, on special files, with bad names. */
  static Stream<Attack> modelAttacks() {
    String huge = "m".repeat(1 << 20);
    return Stream.of(
        load("an absolute path outside", "/etc/passwd", "", Status.Code.INVALID_ARGUMENT,
            "path", "outside the models directory"),
        load("a .. escape", "../outside/secret.csv", "", Status.Code.INVALID_ARGUMENT, "path",
            "outside the models directory"),
        load("the canary by absolute path", canary.toString(), "",
            Status.Code.INVALID_ARGUMENT, "path", "outside"),
        load("/dev/zero", "/dev/zero", "", Status.Code.INVALID_ARGUMENT, "path", "outside"),
        load("/dev/urandom", "/dev/urandom", "", Status.Code.INVALID_ARGUMENT, "path",
            "outside"),
        load("/proc/self/environ", "/proc/self/environ", "", Status.Code.INVALID_ARGUMENT,
            "path", "outside"),
        load("a FIFO in the models directory", "fifo.tandem", "", Status.Code.INVALID_ARGUMENT,
            "path", "regular file"),
        load("a link out of the models directory", "link.tandem", "",
            Status.Code.INVALID_ARGUMENT, "path", "outside"),
        load("a text file with no magic bytes", "text.tandem", "", Status.Code.INVALID_ARGUMENT,
            "path", "magic bytes"),
        load("a file that is not there", "absent.tandem", "", Status.Code.NOT_FOUND, "path"),
        load("a traversal model name", "text.tandem", "../../evil/x",
            Status.Code.INVALID_ARGUMENT, "name", "letters, digits"),
        load("a 1 MB model name", "text.tandem", huge, Status.Code.INVALID_ARGUMENT, "name",
            "1048576"),
        new Attack("Predict with a 1 MB model name", () -> call(() ->
            tandem.api.v1.InferenceServiceGrpc.newBlockingStub(channel)
                .withDeadlineAfter(30, TimeUnit.SECONDS).predict(
                    tandem.api.v1.PredictRequest.newBuilder().setModel(huge).setTask("t")
                        .build())), Status.Code.NOT_FOUND, "no model named", "1048576"),
        new Attack("Predict with more rows than the limit", () -> {
          tandem.api.v1.PredictRequest.Builder request = tandem.api.v1.PredictRequest
              .newBuilder().setJobId(finishedJob).setTask("binary_plus1");
          for (int i = 0; i < 10_001; i++) {
            request.addInputs(tandem.api.v1.Row.getDefaultInstance());
          }
          return call(() -> tandem.api.v1.InferenceServiceGrpc.newBlockingStub(channel)
              .withDeadlineAfter(30, TimeUnit.SECONDS).predict(request.build()));
        }, Status.Code.RESOURCE_EXHAUSTED, "inputs", "10001", "limits.predict-rows"));
  }

  static Attack load(String name, String path, String modelName, Status.Code code,
      String... words) {
    return new Attack("LoadModel: " + name, () -> call(() ->
        tandem.api.v1.ModelServiceGrpc.newBlockingStub(channel)
            .withDeadlineAfter(30, TimeUnit.SECONDS).loadModel(
                tandem.api.v1.LoadModelRequest.newBuilder().setPath(path).setName(modelName)
                    .build())), code, words);
  }

  /** AddTask on the finished job with data outside the roots or a head over the limits. */
  static Stream<Attack> addTaskAttacks() {
    return Stream.of(
        addTask("a task reading outside the data roots", a -> a.setTask(
            Specs.example("arithmetic").getTasks(0).toBuilder().setName("probe")
                .setData(csv(canary.toString(), 0))), Status.Code.INVALID_ARGUMENT,
            "task.data.csv.path", "data roots"),
        addTask("a 30,000 x 30,000 new head", a -> a.setTask(Specs.example("arithmetic")
            .getTasks(0).toBuilder().setName("probe")).addModules(dense("huge", 30_000,
            30_000)), Status.Code.RESOURCE_EXHAUSTED, "modules", "parameters-per-job"),
        addTask("a traversal task name", a -> a.setTask(Specs.example("arithmetic")
            .getTasks(0).toBuilder().setName("../x")), Status.Code.INVALID_ARGUMENT,
            "task.name", "letters, digits"));
  }

  static Attack addTask(String name, Consumer<tandem.api.v1.AddTaskRequest.Builder> edit,
      Status.Code code, String... words) {
    return new Attack("AddTask: " + name, () -> {
      tandem.api.v1.AddTaskRequest.Builder request = tandem.api.v1.AddTaskRequest.newBuilder()
          .setJobId(finishedJob);
      edit.accept(request);
      return call(() -> training().addTask(request.build()));
    }, code, words);
  }

  /** Specs over a limit, or with names and settings no job may have. */
  static Stream<Attack> limitAttacks() {
    String huge = "n".repeat(1 << 20);
    return Stream.of(
        spec("a 30,000 x 30,000 layer", s -> s.setModules(2, dense("plus1", 30_000, 30_000)),
            Status.Code.RESOURCE_EXHAUSTED, "modules", "parameters per job",
            "tandem.orchestrator.limits.parameters-per-job"),
        spec("a layer of 2,000,000,000 units", s -> s.setModules(2, dense("plus1", 30,
            2_000_000_000)), Status.Code.RESOURCE_EXHAUSTED, "modules[2].dense.layers[0].size",
            "2000000000", "limits.layer-size"),
        spec("a 100,000 x 100,000 layer", s -> s.setModules(2, dense("plus1", 100_000,
            100_000)), Status.Code.RESOURCE_EXHAUSTED, "modules[2].dense.inputSize",
            "limits.layer-size"),
        spec("a stack of 50,000 layers", s -> s.setModules(2, stack("plus1", 50_000)),
            Status.Code.RESOURCE_EXHAUSTED, "modules[2].dense.layers", "50000",
            "limits.layers"),
        spec("a path of 5,000 modules", s -> {
          for (int i = 0; i < 5000; i++) {
            s.getTasksBuilder(0).addPath("plus1");
          }
        }, Status.Code.RESOURCE_EXHAUSTED, "tasks[0].path", "path length", "limits.path-length"),
        spec("1,000,000,000 built-in examples", s -> s.getTasksBuilder(0).setData(
            DataSpec.newBuilder().setBuiltin(BuiltinData.newBuilder().setName("functions")
                .putOptions("function", "0").putOptions("examples", "1000000000"))),
            Status.Code.RESOURCE_EXHAUSTED, "tasks[0].data.builtin.options.examples",
            "1000000000", "limits.builtin-examples"),
        spec("a batch of 2^31-1 rows", s -> s.getTasksBuilder(0).setBatchSize(Integer.MAX_VALUE),
            Status.Code.RESOURCE_EXHAUSTED, "tasks[0].batchSize", "limits.batch-rows"),
        spec("2^31-1 steps in flight", s -> s.getConsistencyBuilder()
            .setStepsInFlight(Integer.MAX_VALUE), Status.Code.RESOURCE_EXHAUSTED,
            "consistency.stepsInFlight", "limits.steps-in-flight"),
        spec("2^31-1 workers", s -> s.setWorkers(Integer.MAX_VALUE),
            Status.Code.RESOURCE_EXHAUSTED, "workers", "limits.workers"),
        spec("2^63-1 steps", s -> s.getStopBuilder().setMaxSteps(Long.MAX_VALUE),
            Status.Code.RESOURCE_EXHAUSTED, "stop.maxSteps", "limits.max-steps"),
        spec("more memory than the budget", s -> s.setWorkers(4)
            .setTasks(0, s.getTasks(0).toBuilder().setBatchSize(60_000))
            .setModules(2, dense("plus1", 30, 6000)).setModules(3, dense("times2", 6000, 6000))
            .setModules(4, dense("binary_decoder", 6000, 5)), Status.Code.RESOURCE_EXHAUSTED,
            "estimated off-heap bytes", "limits.memory-budget"),
        spec("a 1 MB job name", s -> s.setName(huge), Status.Code.RESOURCE_EXHAUSTED, "name",
            "limits.name-chars"),
        spec("a 1 MB task name", s -> s.getTasksBuilder(0).setName(huge),
            Status.Code.INVALID_ARGUMENT, "tasks[0].name", "1048576"),
        spec("a traversal module name", s -> s.getModulesBuilder(0).setName("../../evil/x"),
            Status.Code.INVALID_ARGUMENT, "modules[0].name", "letters, digits"),
        spec("checkpoint everySteps -1", s -> s.setCheckpoint(CheckpointSpec.newBuilder()
            .setEverySteps(-1)), Status.Code.INVALID_ARGUMENT, "checkpoint.everySteps", "-1"),
        spec("checkpoint every -5s", s -> s.setCheckpoint(CheckpointSpec.newBuilder()
            .setEvery(com.google.protobuf.Duration.newBuilder().setSeconds(-5))),
            Status.Code.INVALID_ARGUMENT, "checkpoint.every", "-5s"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource({"dataAttacks", "limitAttacks", "modelAttacks", "addTaskAttacks"})
  @Order(1)
  void isRefusedBeforeAnythingIsReadOrAllocated(Attack attack) {
    isRefusedAndTheServerGoesOn(attack);
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
  @Order(101)
  void residentMemoryAfterTheAttacksIsWithinAFifthOfWhereItStarted() throws IOException {
    long after = residentBytesAfterGc();
    double growth = (double) (after - residentBefore) / residentBefore;
    System.out.printf("HostileClientTest resident memory: %d MB before the attacks, %d MB after"
        + " (%+.1f%%)%n", residentBefore >> 20, after >> 20, 100 * growth);
    assertTrue(growth <= 0.20, String.format("resident memory grew from %d MB to %d MB (%+.1f%%)"
        + " during the attacks; at most +20%%", residentBefore >> 20, after >> 20, 100 * growth));
  }

  /** VmRSS of this JVM after a full GC. */
  static long residentBytesAfterGc() throws IOException {
    System.gc();
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    return 0;
  }

  @Test
  @Order(100)
  void theJobSubmittedBeforeTheAttacksTrainsToTheEnd() {
    TrainingEvent end = last(runningJob);
    assertEquals(JobState.JOB_STATE_SUCCEEDED, end.getJobFinished().getState(), end.toString());
    assertEquals(3000, training().getJob(GetJobRequest.newBuilder().setJobId(runningJob).build())
        .getStepsDone());
  }

  @Test
  @Order(3)
  void aJobTakesNoMoreSubscribersThanTheLimit() {
    List<io.grpc.Context.CancellableContext> streams = new java.util.ArrayList<>();
    String job = submit(Specs.example("arithmetic").toBuilder()
        .setStop(StopCondition.newBuilder().setMaxSteps(1_000_000)).build());
    try {
      for (int i = 0; i < 4; i++) {
        io.grpc.Context.CancellableContext context = io.grpc.Context.current().withCancellation();
        streams.add(context);
        context.run(() -> TrainingServiceGrpc.newBlockingStub(channel).streamEvents(
            StreamEventsRequest.newBuilder().setJobId(job).build()).next());
      }
      StatusRuntimeException error = call(() -> training().streamEvents(
          StreamEventsRequest.newBuilder().setJobId(job).build()).hasNext());
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, error.getStatus().getCode());
      assertTrue(error.getStatus().getDescription().contains("limits.subscribers-per-job"),
          error.getStatus().getDescription());
    } finally {
      streams.forEach(context -> context.cancel(null));
      training().cancelJob(CancelJobRequest.newBuilder().setJobId(job).build());
    }
    assertServerAnswers();
  }

  @Test
  @Order(4)
  void noMoreJobsRunAtOnceThanTheLimit() {
    List<String> started = new java.util.ArrayList<>();
    StatusRuntimeException refused = null;
    try {
      for (int i = 0; i < 4 && refused == null; i++) {
        try {
          started.add(submit(Specs.example("arithmetic").toBuilder()
              .setStop(StopCondition.newBuilder().setMaxSteps(1_000_000)).build()));
        } catch (StatusRuntimeException e) {
          refused = e;
        }
      }
    } finally {
      started.forEach(job -> training().cancelJob(
          CancelJobRequest.newBuilder().setJobId(job).build()));
    }
    assertTrue(refused != null, "a job beyond the limit of 3 was refused");
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, refused.getStatus().getCode());
    assertTrue(refused.getStatus().getDescription().contains("limits.concurrent-jobs"),
        refused.getStatus().getDescription());
    assertServerAnswers();
  }

  // ---- helpers ----

  /** An attack by a spec: the arithmetic example edited by {@code edit}. */
  static Attack spec(String name, Consumer<JobSpec.Builder> edit, Status.Code code,
      String... words) {
    return new Attack(name, () -> {
      JobSpec.Builder spec = Specs.example("arithmetic").toBuilder();
      edit.accept(spec);
      return call(() -> submit(spec.build()));
    }, code, words);
  }

  static DataSpec csv(String path, int skipLines) {
    return DataSpec.newBuilder().setCsv(CsvData.newBuilder().setPath(path).setSkipLines(skipLines)
        .addFields(CsvField.newBuilder().setName("binary").setType("float")
            .addColumns(0).addColumns(1).addColumns(2).addColumns(3))
        .addFields(CsvField.newBuilder().setName("result_bits").setType("float")
            .addColumns(4).addColumns(5).addColumns(6).addColumns(7).addColumns(8))
        .addFields(CsvField.newBuilder().setName("result").setType("class").setClasses(20)
            .addColumns(9))).build();
  }

  static ModuleSpec dense(String name, int in, int out) {
    return ModuleSpec.newBuilder().setName(name).setDense(DenseStack.newBuilder()
        .setInputSize(in).addLayers(DenseLayer.newBuilder().setSize(out))).build();
  }

  static ModuleSpec stack(String name, int layers) {
    DenseStack.Builder stack = DenseStack.newBuilder().setInputSize(30);
    for (int i = 0; i < layers; i++) {
      stack.addLayers(DenseLayer.newBuilder().setSize(30));
    }
    return ModuleSpec.newBuilder().setName(name).setDense(stack).build();
  }

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
