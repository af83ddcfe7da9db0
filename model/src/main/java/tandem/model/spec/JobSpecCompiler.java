package tandem.model.spec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tandem.api.v1.JobSpec;
import tandem.api.v1.OptimizerSpec;
import tandem.api.v1.StopCondition;
import tandem.api.v1.TaskSpec;
import tandem.model.data.DataSet;
import tandem.model.data.DataSpecs;
import tandem.model.module.Module;
import tandem.model.optim.OptimizerSettings;

/**
 * Checks a {@link JobSpec} and resolves it into a {@link TrainingPlan}: modules built, tasks
 * resolved against them, data loaded and checked, every default filled in. The first problem found
 * is thrown as an {@link InvalidSpecException} naming the field in Protobuf JSON path form
 * ({@code tasks[1].path[0]}) and saying what was expected and what was found. Cheap checks run
 * before any data file is read. Stateless and thread-safe.
 */
public final class JobSpecCompiler {

  private static final List<String> OPTIMIZERS = List.of("adam", "sgd");
  private static final List<String> SHARED_STATES = List.of("shared", "per_task");
  private static final List<String> EMBEDDING_UPDATES = List.of("dense", "lazy");

  private JobSpecCompiler() {}

  /** Compiles {@code spec}, resolving relative CSV paths against the working directory. */
  public static TrainingPlan compile(JobSpec spec) throws InvalidSpecException {
    return compile(spec, Path.of("").toAbsolutePath());
  }

  /** Compiles {@code spec}, resolving relative CSV paths against {@code baseDir}. */
  public static TrainingPlan compile(JobSpec spec, Path baseDir) throws InvalidSpecException {
    Map<String, Module> modules = ModuleSpecs.build(spec.getModulesList());
    checkTaskNames(spec.getTasksList());
    OptimizerSettings optimizer = optimizer(spec.getOptimizer());
    List<String> taskNames = spec.getTasksList().stream().map(TaskSpec::getName).toList();
    ScheduleSettings schedule = SettingsSpecs.schedule(spec.getSchedule(), taskNames, "schedule");
    ConsistencySettings consistency = SettingsSpecs.consistency(spec.getConsistency());
    AggregationSettings aggregation = SettingsSpecs.aggregation(spec.getAggregation(), taskNames);
    Map<String, Double> learningRates = new LinkedHashMap<>();
    for (int i = 0; i < spec.getTasksCount(); i++) {
      learningRates.put(spec.getTasks(i).getName(), positiveOrDefault(
          spec.getTasks(i).getLearningRate(), optimizer.learningRate(),
          "tasks[" + i + "].learningRate", "learning rate"));
    }
    if (!spec.hasStop()) {
      throw new InvalidSpecException("stop", "expected a stop condition with maxSteps, found none");
    }
    StopCondition stop = spec.getStop();
    if (stop.getMaxSteps() <= 0) {
      throw new InvalidSpecException("stop.maxSteps",
          "expected a positive number of steps, found " + stop.getMaxSteps());
    }
    Duration maxTime = maxTime(stop);
    if (spec.getWorkers() < 0) {
      throw new InvalidSpecException("workers",
          "expected a worker count >= 0 (0 means every local worker), found " + spec.getWorkers());
    }

    TaskSpecs tasks = new TaskSpecs(modules, new DataSpecs(baseDir));
    List<TaskGraph> graphs = new ArrayList<>();
    Map<String, DataSet> training = new LinkedHashMap<>();
    Map<String, DataSet> evaluation = new LinkedHashMap<>();
    for (int i = 0; i < spec.getTasksCount(); i++) {
      TaskSpecs.ResolvedTask task = tasks.resolve(spec.getTasks(i), i);
      graphs.add(task.graph());
      training.put(task.graph().name(), task.training());
      evaluation.put(task.graph().name(), task.evaluation());
    }
    return new TrainingPlan(spec, new ModelGraph(modules, graphs), training, evaluation,
        optimizer, learningRates, schedule, consistency, aggregation, stop.getMaxSteps(), maxTime,
        spec.getSeed(), spec.getWorkers());
  }

  private static void checkTaskNames(List<TaskSpec> tasks) throws InvalidSpecException {
    if (tasks.isEmpty()) {
      throw new InvalidSpecException("tasks", "expected at least one task, found none");
    }
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < tasks.size(); i++) {
      String name = tasks.get(i).getName();
      if (name.isEmpty()) {
        throw new InvalidSpecException("tasks[" + i + "].name", "expected a task name, found none");
      }
      Integer first = seen.putIfAbsent(name, i);
      if (first != null) {
        throw new InvalidSpecException("tasks[" + i + "].name", "duplicate task name '" + name
            + "' (tasks[" + first + "] has it too); task names must be unique within the job");
      }
    }
  }

  private static OptimizerSettings optimizer(OptimizerSpec spec) throws InvalidSpecException {
    String name = oneOf(spec.getName(), OPTIMIZERS, "optimizer.name", "optimizer");
    double learningRate = positiveOrDefault(spec.getLearningRate(),
        name.equals("adam") ? 0.001 : 0.1, "optimizer.learningRate", "learning rate");
    double beta1 = spec.getBeta1() == 0 ? 0.9 : spec.getBeta1();
    double beta2 = spec.getBeta2() == 0 ? 0.999 : spec.getBeta2();
    checkDecay(beta1, "optimizer.beta1");
    checkDecay(beta2, "optimizer.beta2");
    double epsilon = positiveOrDefault(spec.getEpsilon(), 1e-8, "optimizer.epsilon", "epsilon");
    String sharedState = oneOf(spec.getSharedState(), SHARED_STATES, "optimizer.sharedState",
        "shared optimizer state");
    if (spec.getLearningRateHalfLife() < 0) {
      throw new InvalidSpecException("optimizer.learningRateHalfLife", "expected a number of "
          + "updates >= 0 (0: a constant rate), found " + spec.getLearningRateHalfLife());
    }
    String embeddingUpdates = oneOf(spec.getEmbeddingUpdates(), EMBEDDING_UPDATES,
        "optimizer.embeddingUpdates", "embedding update mode");
    return new OptimizerSettings(name, learningRate, beta1, beta2, epsilon,
        sharedState.equals("per_task"), spec.getLearningRateHalfLife(),
        embeddingUpdates.equals("lazy"));
  }

  /** {@code value} if positive, {@code fallback} if 0; anything else (NaN, negative) fails. */
  private static double positiveOrDefault(double value, double fallback, String field,
      String what) throws InvalidSpecException {
    if (value == 0) {
      return fallback;
    }
    if (!(value > 0) || Double.isInfinite(value)) {
      throw new InvalidSpecException(field, "expected a positive finite " + what + " (0 means "
          + fallback + "), found " + value);
    }
    return value;
  }

  private static void checkDecay(double beta, String field) throws InvalidSpecException {
    if (!(beta > 0 && beta < 1)) {
      throw new InvalidSpecException(field, "expected a decay rate in (0, 1) (0 means the "
          + "default), found " + beta);
    }
  }

  private static String oneOf(String value, List<String> allowed, String field, String what)
      throws InvalidSpecException {
    return SettingsSpecs.oneOf(value, allowed, field, what);
  }

  /** The wall-clock limit, or {@code null}; a zero duration means no limit, like other zeros. */
  private static Duration maxTime(StopCondition stop) throws InvalidSpecException {
    if (!stop.hasMaxTime()) {
      return null;
    }
    Duration limit = Duration.ofSeconds(stop.getMaxTime().getSeconds(),
        stop.getMaxTime().getNanos());
    if (limit.isNegative()) {
      throw new InvalidSpecException("stop.maxTime",
          "expected a duration >= 0 (0 means no limit), found " + limit);
    }
    return limit.isZero() ? null : limit;
  }
}
