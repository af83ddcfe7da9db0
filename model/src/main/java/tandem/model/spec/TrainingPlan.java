package tandem.model.spec;

import java.time.Duration;
import java.util.Map;
import tandem.api.v1.JobSpec;
import tandem.model.data.DataSet;
import tandem.model.optim.OptimizerSettings;

/**
 * A job spec checked and resolved into what training needs: the model graph, each task's training
 * and evaluation data (loaded and validated), and the job's settings with defaults filled in.
 * Immutable; built by {@link JobSpecCompiler#compile}.
 *
 * @param learningRates each task's learning rate (the job's unless the task sets one)
 * @param maxTime {@code null} when the spec sets no wall-clock limit
 * @param workers workers to spread tasks over; 0 means every available one
 */
public record TrainingPlan(
    JobSpec spec,
    ModelGraph graph,
    Map<String, DataSet> trainingData,
    Map<String, DataSet> evaluationData,
    OptimizerSettings optimizer,
    Map<String, Double> learningRates,
    ScheduleSettings schedule,
    ConsistencySettings consistency,
    AggregationSettings aggregation,
    long maxSteps,
    Duration maxTime,
    long seed,
    int workers) {

  public TrainingPlan {
    trainingData = Map.copyOf(trainingData);
    evaluationData = Map.copyOf(evaluationData);
    learningRates = Map.copyOf(learningRates);
  }

  /** The optimizer of {@code task}'s updates: the job's, at the task's learning rate. */
  public OptimizerSettings optimizerFor(String task) {
    return optimizer.withLearningRate(learningRates.get(task));
  }

  /** Credits per worker. */
  public int stepsInFlight() {
    return consistency.stepsInFlight();
  }
}
