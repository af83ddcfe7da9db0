package tandem.orchestrator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import tandem.api.v1.BuiltinData;
import tandem.api.v1.CsvData;
import tandem.api.v1.CsvField;
import tandem.api.v1.DataSpec;
import tandem.api.v1.GetJobRequest;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.StopCondition;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingServiceGrpc;

/**
 * Bad specs through the real gRPC server: each is refused with INVALID_ARGUMENT and a message that
 * names the field, while a job submitted before them trains on undisturbed.
 */
class BadSpecTest {

  @RegisterExtension
  static final RunningServer running = new RunningServer(2);

  @TempDir
  static Path dir;

  private static String runningJob;

  record Case(String name, Consumer<JobSpec.Builder> edit, String field, String words) {
    @Override
    public String toString() {
      return name;
    }
  }

  @BeforeAll
  static void start() throws Exception {
    runningJob = stub().submitJob(SubmitJobRequest.newBuilder().setSpec(Specs.example("arithmetic")
        .toBuilder().setStop(StopCondition.newBuilder().setMaxSteps(600))).build()).getJobId();
  }

  static Stream<Case> cases() {
    return Stream.of(
        new Case("unknown module in a path", s -> s.getTasksBuilder(1).setPath(1, "times3"),
            "tasks[1].path[1]", "unknown module 'times3'"),
        new Case("sizes that don't chain", s -> s.getModulesBuilder(2).getDenseBuilder()
            .setInputSize(31), "tasks[0].path[1]", "31"),
        new Case("a module loop", s -> s.getTasksBuilder(0).addPath("plus1"),
            "tasks[0].path[2]", "loop"),
        new Case("an unknown loss", s -> s.getTasksBuilder(2).getOutputsBuilder(0)
            .setLoss("hinge"), "tasks[2].outputs[0].loss", "hinge"),
        new Case("an unknown optimizer", s -> s.getOptimizerBuilder().setName("rmsprop"),
            "optimizer.name", "rmsprop"),
        new Case("a missing data file", s -> s.getTasksBuilder(0).setData(csv(
            dir.resolve("absent.csv"))), "tasks[0].data.csv.path", "absent.csv"),
        new Case("an unreadable data file", s -> s.getTasksBuilder(0).setData(csv(dir)),
            "tasks[0].data.csv.path", dir.getFileName().toString()),
        new Case("a label out of range", s -> s.getTasksBuilder(0).setData(csv(write(
            "range.csv", "0,0,0,1,0,0,0,0,1,25\n"))), "tasks[0].data.csv.fields[2].classes",
            "25"),
        new Case("NaN in data", s -> s.getTasksBuilder(0).setData(csv(write(
            "nan.csv", "0,0,NaN,1,0,0,0,0,1,1\n"))), "tasks[0].data.csv.fields[0].columns[2]",
            "NaN"),
        new Case("a wrong column count", s -> s.getTasksBuilder(0).setData(csv(write(
            "short.csv", "0,0,0,1,0,0,0,0,1,1\n0,0,1\n"))), "tasks[0].data.csv.path",
            "line 2"),
        new Case("a zero size", s -> s.getModulesBuilder(2).getDenseBuilder()
            .getLayersBuilder(0).setSize(0), "modules[2].dense.layers[0].size", "found 0"),
        new Case("a negative size", s -> s.getModulesBuilder(0).getDenseBuilder()
            .setInputSize(-4), "modules[0].dense.inputSize", "-4"),
        new Case("an empty task list", JobSpec.Builder::clearTasks, "tasks",
            "at least one task"),
        new Case("a duplicate module name", s -> s.getModulesBuilder(3).setName("plus1"),
            "modules[3].name", "duplicate"),
        new Case("a duplicate task name", s -> s.getTasksBuilder(2).setName("binary_plus1"),
            "tasks[2].name", "duplicate"),
        new Case("an unknown activation", s -> s.getModulesBuilder(0).getDenseBuilder()
            .getLayersBuilder(0).setActivation("relu6"), "modules[0].dense.layers[0].activation",
            "relu6"),
        new Case("an unknown label field", s -> s.getTasksBuilder(1).getOutputsBuilder(1)
            .setLabel("answer"), "tasks[1].outputs[1].label", "answer"),
        new Case("an unknown builtin data set", s -> s.getTasksBuilder(3).setData(
            DataSpec.newBuilder().setBuiltin(BuiltinData.newBuilder().setName("mnist"))),
            "tasks[3].data.builtin.name", "mnist"),
        new Case("no stop condition", JobSpec.Builder::clearStop, "stop", "maxSteps"),
        new Case("an unknown schedule", s -> s.getScheduleBuilder().setPolicy("fifo"),
            "schedule.policy", "fifo"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void refusedWithInvalidArgumentNamingTheField(Case bad) {
    JobSpec.Builder spec = Specs.example("arithmetic").toBuilder();
    bad.edit().accept(spec);
    StatusRuntimeException error = assertThrows(StatusRuntimeException.class,
        () -> stub().submitJob(SubmitJobRequest.newBuilder().setSpec(spec).build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, error.getStatus().getCode());
    String message = error.getStatus().getDescription();
    assertTrue(message.startsWith(bad.field() + ": "), message);
    assertTrue(message.contains(bad.words()), message);
  }

  @Test
  void aMissingSpecIsRefusedToo() {
    StatusRuntimeException error = assertThrows(StatusRuntimeException.class,
        () -> stub().submitJob(SubmitJobRequest.getDefaultInstance()));
    assertEquals(Status.Code.INVALID_ARGUMENT, error.getStatus().getCode());
    assertEquals("spec: missing", error.getStatus().getDescription());
  }

  @Test
  void theJobSubmittedBeforeTheBadOnesTrainsToTheEnd() {
    var events = stub().streamEvents(StreamEventsRequest.newBuilder().setJobId(runningJob).build());
    TrainingEvent last = null;
    while (events.hasNext()) {
      last = events.next();
    }
    assertEquals(JobState.JOB_STATE_SUCCEEDED, last.getJobFinished().getState());
    assertEquals(600, stub().getJob(GetJobRequest.newBuilder().setJobId(runningJob).build())
        .getStepsDone());
  }

  /** CSV data for task 0: binary (cols 0-3), decimal (4-8 padded), result_bits, result. */
  private static DataSpec csv(Path path) {
    return DataSpec.newBuilder().setCsv(CsvData.newBuilder().setPath(path.toString())
        .addFields(CsvField.newBuilder().setName("binary").setType("float")
            .addColumns(0).addColumns(1).addColumns(2).addColumns(3))
        .addFields(CsvField.newBuilder().setName("result_bits").setType("float")
            .addColumns(4).addColumns(5).addColumns(6).addColumns(7).addColumns(8))
        .addFields(CsvField.newBuilder().setName("result").setType("class").setClasses(20)
            .addColumns(9))).build();
  }

  private static Path write(String name, String content) {
    try {
      return Files.writeString(dir.resolve(name), content);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static TrainingServiceGrpc.TrainingServiceBlockingStub stub() {
    return running.blocking(2);
  }
}
