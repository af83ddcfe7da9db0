package tandem.orchestrator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.grpc.ManagedChannel;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.api.v1.ConsistencySpec;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.StopCondition;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingServiceGrpc;
import tandem.model.spec.JobSpecCompiler;
import tandem.model.spec.TrainingPlan;
import tandem.model.train.SequentialTraining;

/**
 * With one worker, sync mode, one step in flight and a fixed seed, the actor path (coordinator,
 * worker, shared-parameter actor, through gRPC) must end with the same parameters, bit for bit, as
 * the plain sequential loop over the same model and batches.
 */
class SequentialEquivalenceTest {

  @Test
  void oneWorkerSyncTrainingEqualsTheSequentialLoopBitForBit() throws Exception {
    // Two of the four arithmetic tasks: encoders and operations become heads, decoders stay shared.
    JobSpec.Builder builder = Specs.example("arithmetic").toBuilder()
        .setStop(StopCondition.newBuilder().setMaxSteps(120))
        .setConsistency(ConsistencySpec.newBuilder().setMode("sync").setStepsInFlight(1))
        .setSeed(1234);
    builder.clearTasks();
    Specs.example("arithmetic").getTasksList().stream()
        .filter(t -> t.getName().equals("binary_plus1") || t.getName().equals("decimal_times2"))
        .forEach(builder::addTasks);
    JobSpec spec = builder.build();
    TrainingPlan plan = JobSpecCompiler.compile(spec);
    assertFalse(plan.graph().heads("binary_plus1").isEmpty());
    assertFalse(plan.graph().sharedModules().isEmpty());

    Map<String, INDArray> actorPath;
    try (TandemServer server = TestServers.start(1)) {
      ManagedChannel channel = TestServers.channel(server);
      try {
        TrainingServiceGrpc.TrainingServiceBlockingStub stub =
            TrainingServiceGrpc.newBlockingStub(channel).withDeadlineAfter(2, TimeUnit.MINUTES);
        String jobId = stub.submitJob(SubmitJobRequest.newBuilder().setSpec(spec).build()).getJobId();
        TrainingEvent last = null;
        var events = stub.streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId).build());
        while (events.hasNext()) {
          last = events.next();
        }
        assertEquals(JobState.JOB_STATE_SUCCEEDED, last.getJobFinished().getState());
        actorPath = server.jobs().find(jobId).orElseThrow().trainedParameters();
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }

    SequentialTraining sequential = new SequentialTraining(plan, DataType.FLOAT);
    for (int step = 0; step < 120; step++) {
      sequential.step(plan.graph().tasks().get(step % 2).name());
    }
    assertEquals(sequential.parameters().keySet(), actorPath.keySet());
    sequential.parameters().forEach((module, expected) -> assertArrayEquals(
        expected.toFloatVector(), actorPath.get(module).toFloatVector(), 0f, module));
  }
}
