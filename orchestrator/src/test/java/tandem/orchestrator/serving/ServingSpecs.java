package tandem.orchestrator.serving;

import java.util.Iterator;
import java.util.concurrent.TimeUnit;
import tandem.api.v1.BuiltinData;
import tandem.api.v1.DataSpec;
import tandem.api.v1.DenseLayer;
import tandem.api.v1.DenseStack;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.ModuleSpec;
import tandem.api.v1.OptimizerSpec;
import tandem.api.v1.OutputSpec;
import tandem.api.v1.StopCondition;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.TaskSpec;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingServiceGrpc;

/** Small trunk-and-heads jobs on the built-in functions data, for the serving tests. */
final class ServingSpecs {

  private ServingSpecs() {}

  /** Tasks f0..f{heads-1}, each a head on one shared trunk (8 -> 16, tanh). */
  static JobSpec trunkWithHeads(int heads, long steps) {
    JobSpec.Builder spec = JobSpec.newBuilder().setName("serving-test").setSeed(11)
        .setWorkers(1)
        .setOptimizer(OptimizerSpec.newBuilder().setName("adam").setLearningRate(0.01))
        .setStop(StopCondition.newBuilder().setMaxSteps(steps))
        .addModules(dense("trunk", 8, 16, "tanh"));
    for (int k = 0; k < heads; k++) {
      spec.addModules(dense("head" + k, 16, 1, "identity"));
      spec.addTasks(task(k));
    }
    return spec.build();
  }

  /** Task f{k}: function k of the built-in data through the trunk and head{k}. */
  static TaskSpec task(int k) {
    return TaskSpec.newBuilder().setName("f" + k).setInput("x").addPath("trunk").setBatchSize(16)
        .setData(DataSpec.newBuilder().setBuiltin(BuiltinData.newBuilder().setName("functions")
            .putOptions("function", "" + k).putOptions("examples", "64")))
        .addOutputs(OutputSpec.newBuilder().setName("y").addModules("head" + k).setLoss("mse")
            .setLabel("y"))
        .build();
  }

  static ModuleSpec dense(String name, int in, int out, String activation) {
    return ModuleSpec.newBuilder().setName(name).setDense(DenseStack.newBuilder()
        .setInputSize(in).addLayers(DenseLayer.newBuilder().setSize(out)
            .setActivation(activation))).build();
  }

  /** Follows the job's events to its end; returns the final state, with the events seen. */
  static JobState await(TrainingServiceGrpc.TrainingServiceBlockingStub stub, String jobId,
      java.util.List<TrainingEvent> events) {
    Iterator<TrainingEvent> stream = stub.withDeadlineAfter(2, TimeUnit.MINUTES)
        .streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId).build());
    JobState state = JobState.JOB_STATE_UNSPECIFIED;
    while (stream.hasNext()) {
      TrainingEvent event = stream.next();
      events.add(event);
      if (event.hasJobFinished()) {
        state = event.getJobFinished().getState();
      }
    }
    return state;
  }
}
