package tandem.model.train;

import java.util.HashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.model.data.Batch;
import tandem.model.data.BatchSampler;
import tandem.model.data.DataSet;
import tandem.model.optim.OptimizerState;
import tandem.model.spec.TaskGraph;
import tandem.model.spec.TrainingPlan;

/**
 * The plain single-thread training loop: the caller names the task of each step, and the step
 * updates every module that task runs, at once, with one optimizer state per module. It is the
 * reference the actor path is checked against (sync mode, one worker, one step in flight must
 * match it bit for bit) and the baseline of the benchmarks, so it uses the same batches
 * ({@link Seeds}), initial parameters and {@link TaskProgram} as the workers. Confined to one thread.
 */
public final class SequentialTraining {

  private final TrainingPlan plan;
  private final DataType dataType;
  private final Map<String, INDArray> parameters;
  private final Map<String, INDArray> gradients;
  private final Map<String, OptimizerState> optimizers = new HashMap<>();
  private final Map<String, TaskProgram> programs = new HashMap<>();
  private final Map<String, BatchSampler> samplers = new HashMap<>();
  private final Map<String, Batch> batches = new HashMap<>();
  private final Map<String, java.util.Set<String>> heads = new HashMap<>();

  public SequentialTraining(TrainingPlan plan, DataType dataType) {
    this.plan = plan;
    this.dataType = dataType;
    this.parameters = ModelParameters.starting(plan, dataType);
    this.gradients = ModelParameters.zerosLike(parameters);
    for (TaskGraph task : plan.graph().tasks()) {
      programs.put(task.name(), new TaskProgram(task, dataType));
      samplers.put(task.name(), samplerFor(plan, task));
      heads.put(task.name(), plan.graph().heads(task.name()));
    }
  }

  /** The batch order a task's loader follows in job {@code plan}. */
  public static BatchSampler samplerFor(TrainingPlan plan, TaskGraph task) {
    DataSet data = plan.trainingData().get(task.name());
    return new BatchSampler(data.size(), task.batchSize(),
        Seeds.derive(plan.seed(), "batches/" + task.name()));
  }

  /** Trains {@code task} on its next batch and updates every module it runs. */
  public StepResult step(String task) {
    TaskProgram program = programs.get(task);
    DataSet data = plan.trainingData().get(task);
    BatchSampler sampler = samplers.get(task);
    Batch batch;
    if (dataType == DataType.FLOAT) {
      batch = batches.computeIfAbsent(task, t -> data.newBatch(sampler.batchSize()));
      data.fill(sampler.next(), batch);
    } else {
      batch = data.batch(sampler.next(), dataType);
    }
    StepResult result = program.computeGradients(parameters, batch, gradients);
    for (String module : program.moduleNames()) {
      if (plan.frozenModules().contains(module)) {
        continue;
      }
      optimizer(module, task).applyInPlace(parameters.get(module), gradients.get(module));
    }
    return result;
  }

  /**
   * The optimizer state a module's update from {@code task} uses, as the workers and the
   * shared-parameter actor keep them: a head's own (at its task's rate), a shared module's one
   * state, or with per-task state one per (module, task) at the task's rate.
   */
  private OptimizerState optimizer(String module, String task) {
    boolean head = heads.get(task).contains(module);
    boolean perTask = head || plan.optimizer().perTaskSharedState();
    String key = perTask ? module + "\u0000" + task : module;
    return optimizers.computeIfAbsent(key, k -> OptimizerState.forModule(
        (perTask ? plan.optimizerFor(task) : plan.optimizer()),
        plan.graph().modules().get(module), parameters.get(module).length(), dataType));
  }

  /** Each output's metric on the task's evaluation data. */
  public Map<String, Double> evaluate(String task) {
    return programs.get(task).evaluate(parameters, plan.evaluationData().get(task));
  }

  /** The live parameters, by module name. */
  public Map<String, INDArray> parameters() {
    return parameters;
  }
}
