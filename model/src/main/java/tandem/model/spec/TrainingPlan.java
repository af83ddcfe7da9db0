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
 * @param start the parameters training starts from and the modules it leaves alone
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
    int workers,
    StartingPoint start) {

  public TrainingPlan {
    trainingData = Map.copyOf(trainingData);
    evaluationData = Map.copyOf(evaluationData);
    learningRates = Map.copyOf(learningRates);
  }

  /** A plan that starts from its seed. */
  public TrainingPlan(JobSpec spec, ModelGraph graph, Map<String, DataSet> trainingData,
      Map<String, DataSet> evaluationData, OptimizerSettings optimizer,
      Map<String, Double> learningRates, ScheduleSettings schedule,
      ConsistencySettings consistency, AggregationSettings aggregation, long maxSteps,
      Duration maxTime, long seed, int workers) {
    this(spec, graph, trainingData, evaluationData, optimizer, learningRates, schedule,
        consistency, aggregation, maxSteps, maxTime, seed, workers, StartingPoint.FROM_SEED);
  }

  /** This plan, starting from {@code newStart} instead. */
  public TrainingPlan withStart(StartingPoint newStart) {
    return new TrainingPlan(spec, graph, trainingData, evaluationData, optimizer, learningRates,
        schedule, consistency, aggregation, maxSteps, maxTime, seed, workers, newStart);
  }

  /** Modules no update may change (see {@link StartingPoint}). */
  public java.util.Set<String> frozenModules() {
    return start.frozenModules();
  }

  /** The optimizer of {@code task}'s updates: the job's, at the task's learning rate. */
  public OptimizerSettings optimizerFor(String task) {
    return optimizer.withLearningRate(learningRates.get(task));
  }

  /** Credits per worker. */
  public int stepsInFlight() {
    return consistency.stepsInFlight();
  }

  /**
   * The vocabularies that map each task's text to ids, by task and then by field name, as built
   * from its training data; they belong with the trained model (evaluation and inference data
   * must be mapped with them). Serialisable.
   */
  public Map<String, Map<String, tandem.model.data.Vocabulary>> vocabularies() {
    Map<String, Map<String, tandem.model.data.Vocabulary>> byTask =
        new java.util.LinkedHashMap<>();
    for (TaskGraph task : graph.tasks()) {
      byTask.put(task.name(), trainingData.get(task.name()).vocabularies());
    }
    return byTask;
  }
}
