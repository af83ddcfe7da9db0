package tandem.orchestrator.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.api.v1.AddTaskOptions;
import tandem.api.v1.AddTaskRequest;
import tandem.api.v1.ForgettingReport;
import tandem.api.v1.GetJobRequest;
import tandem.api.v1.InferenceServiceGrpc;
import tandem.api.v1.JobState;
import tandem.api.v1.JobStatus;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.TaskForgetting;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingServiceGrpc;
import tandem.orchestrator.TandemServer;
import tandem.orchestrator.TestServers;

/**
 * Adding a task to a trained model: with the trunk frozen the old tasks' parameters and outputs
 * stay bit-identical and the forgetting report says so; fine-tuning moves the trunk and still
 * reports; bad requests name the field.
 */
class AddTaskTest {

  private static TandemServer server;
  private static ManagedChannel channel;
  private static TrainingServiceGrpc.TrainingServiceBlockingStub training;
  private static InferenceServiceGrpc.InferenceServiceBlockingStub inference;
  private static String baseJob;

  @BeforeAll
  static void trainBase() throws Exception {
    server = TestServers.start(2);
    channel = TestServers.channel(server);
    training = TrainingServiceGrpc.newBlockingStub(channel);
    inference = InferenceServiceGrpc.newBlockingStub(channel);
    baseJob = training.submitJob(SubmitJobRequest.newBuilder()
        .setSpec(ServingSpecs.trunkWithHeads(2, 120).toBuilder().setWorkers(0)).build())
        .getJobId();
    assertEquals(JobState.JOB_STATE_SUCCEEDED, ServingSpecs.await(training, baseJob,
        new ArrayList<>()));
  }

  @AfterAll
  static void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.close();
  }

  private static AddTaskRequest.Builder addF2(AddTaskOptions.Builder options) {
    return AddTaskRequest.newBuilder().setJobId(baseJob).setTask(ServingSpecs.task(2))
        .addModules(ServingSpecs.dense("head2", 16, 1, "identity"))
        .setOptions(options);
  }

  private static Map<String, INDArray> parameters(String job) {
    return server.jobs().find(job).orElseThrow().trainedParameters();
  }

  @Test
  void frozenTrunkKeepsOldTasksBitIdenticalAndReportsNoForgetting() {
    String added = training.addTask(addF2(AddTaskOptions.newBuilder().setMaxSteps(60)).build())
        .getJobId();
    List<TrainingEvent> events = new ArrayList<>();
    assertEquals(JobState.JOB_STATE_SUCCEEDED, ServingSpecs.await(training, added, events));

    for (String module : List.of("trunk", "head0", "head1")) {
      assertArrayEquals(parameters(baseJob).get(module).toFloatVector(),
          parameters(added).get(module).toFloatVector(), 0f, module);
    }
    assertTrue(parameters(added).containsKey("head2"));
    for (String task : List.of("f0", "f1")) {
      List<float[]> rows = ServingTest.rows(6, 42);
      assertArrayEquals(
          ServingTest.scores(inference.predict(ServingTest.request(task, rows)
              .setJobId(baseJob).build())),
          ServingTest.scores(inference.predict(ServingTest.request(task, rows)
              .setJobId(added).build())), task);
    }
    assertEquals(1, inference.predict(ServingTest.request("f2", ServingTest.rows(1, 5))
        .setJobId(added).build()).getOutputsCount());

    ForgettingReport report = events.stream().filter(TrainingEvent::hasForgettingReport)
        .findFirst().orElseThrow().getForgettingReport();
    assertEquals("f2", report.getAddedTask());
    assertEquals(List.of("f0", "f1"), report.getTasksList().stream().map(TaskForgetting::getTask)
        .toList());
    for (TaskForgetting task : report.getTasksList()) {
      assertEquals("mse", task.getMetric());
      assertEquals(task.getBefore(), task.getAfter(), task.getTask());
      assertEquals(0.0, task.getChange());
    }
    JobStatus status = training.getJob(GetJobRequest.newBuilder().setJobId(added).build());
    assertEquals(report, status.getForgetting());
    // Only the new task trained: the schedule gave the old ones no steps.
    assertEquals(60, events.stream().filter(e -> e.hasStepCompleted()
        && e.getStepCompleted().getTask().equals("f2")).count());
  }

  @Test
  void fineTuningWithRehearsalAndPullMovesTheTrunkAndReports() {
    String added = training.addTask(addF2(AddTaskOptions.newBuilder().setMaxSteps(40)
        .setTrunk("fine_tune").setRehearsalRate(0.5).setTrunkPull(0.1)).build()).getJobId();
    List<TrainingEvent> events = new ArrayList<>();
    assertEquals(JobState.JOB_STATE_SUCCEEDED, ServingSpecs.await(training, added, events));
    assertFalse(java.util.Arrays.equals(parameters(baseJob).get("trunk").toFloatVector(),
        parameters(added).get("trunk").toFloatVector()), "the trunk trained");
    for (String head : List.of("head0", "head1")) {
      assertArrayEquals(parameters(baseJob).get(head).toFloatVector(),
          parameters(added).get(head).toFloatVector(), 0f, "old heads stay frozen: " + head);
    }
    assertTrue(events.stream().anyMatch(e -> e.hasStepCompleted()
        && !e.getStepCompleted().getTask().equals("f2")), "old tasks rehearsed");
    assertEquals(2, training.getJob(GetJobRequest.newBuilder().setJobId(added).build())
        .getForgetting().getTasksCount());
  }

  @Test
  void badAdditionsNameTheField() {
    ServingTest.expect(Status.Code.NOT_FOUND, "no model named 'nope'", () -> training.addTask(
        addF2(AddTaskOptions.newBuilder().setMaxSteps(5)).setModel("nope").build()));
    ServingTest.expect(Status.Code.INVALID_ARGUMENT, "task.name", () -> training.addTask(
        addF2(AddTaskOptions.newBuilder().setMaxSteps(5))
            .setTask(ServingSpecs.task(2).toBuilder().setName("f0")).build()));
    ServingTest.expect(Status.Code.INVALID_ARGUMENT, "options.rehearsalRate", () ->
        training.addTask(addF2(AddTaskOptions.newBuilder().setMaxSteps(5)
            .setRehearsalRate(0.2)).build()));
    ServingTest.expect(Status.Code.INVALID_ARGUMENT, "options.maxSteps", () ->
        training.addTask(addF2(AddTaskOptions.newBuilder()).build()));
    ServingTest.expect(Status.Code.INVALID_ARGUMENT, "task.outputs[0].modules[0]", () ->
        training.addTask(addF2(AddTaskOptions.newBuilder().setMaxSteps(5)).clearModules()
            .build()));
  }
}
