package tandem.worker;

import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.model.spec.TrainingPlan;

/**
 * What a worker needs to train some of a job's tasks: the plan, the tasks it owns, their heads'
 * initial parameters (handed over: the worker owns them from then on), the first trunk version,
 * and where to send shared gradients and finished steps; for an async job whose workers all share
 * the shared-parameter actor's JVM, or a sync job on one worker there, the {@link DirectTrunk}
 * the worker reads and updates the shared modules through instead (null otherwise: never sent
 * to another node). Immutable.
 */
public record TaskAssignment(
    String jobId,
    TrainingPlan plan,
    List<String> tasks,
    Map<String, INDArray> headParameters,
    TrunkSnapshot trunk,
    ActorRef<Worker.SharedGradients> sharedParameters,
    ActorRef<Worker.StepOutcome> coordinator,
    DirectTrunk direct) {

  public TaskAssignment {
    tasks = List.copyOf(tasks);
    headParameters = Map.copyOf(headParameters);
  }

  /** An assignment whose shared gradients go to {@code sharedParameters} as messages. */
  public TaskAssignment(String jobId, TrainingPlan plan, List<String> tasks,
      Map<String, INDArray> headParameters, TrunkSnapshot trunk,
      ActorRef<Worker.SharedGradients> sharedParameters,
      ActorRef<Worker.StepOutcome> coordinator) {
    this(jobId, plan, tasks, headParameters, trunk, sharedParameters, coordinator, null);
  }
}
