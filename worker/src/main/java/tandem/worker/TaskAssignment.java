package tandem.worker;

import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.model.spec.TrainingPlan;

/**
 * What a worker needs to train some of a job's tasks: the plan, the tasks it owns, their heads'
 * initial parameters (handed over: the worker owns them from then on), the first trunk version,
 * and where to send shared gradients and finished steps. Immutable.
 */
public record TaskAssignment(
    String jobId,
    TrainingPlan plan,
    List<String> tasks,
    Map<String, INDArray> headParameters,
    TrunkSnapshot trunk,
    ActorRef<Worker.SharedGradients> sharedParameters,
    ActorRef<Worker.StepOutcome> coordinator) {

  public TaskAssignment {
    tasks = List.copyOf(tasks);
    headParameters = Map.copyOf(headParameters);
  }
}
