package tandem.orchestrator.serving;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;
import tandem.api.v1.AddTaskOptions;
import tandem.api.v1.AddTaskRequest;
import tandem.api.v1.JobSpec;
import tandem.api.v1.ModuleSpec;
import tandem.api.v1.OutputSpec;
import tandem.api.v1.ScheduleSpec;
import tandem.api.v1.StopCondition;
import tandem.api.v1.TaskSpec;
import tandem.model.bundle.TrainedModel;
import tandem.model.spec.InvalidSpecException;
import tandem.model.spec.JobSpecCompiler;
import tandem.model.spec.StartingPoint;
import tandem.model.spec.TrainingPlan;
import tandem.model.train.TaskProgram;

/**
 * Turns an {@code AddTask} request into a job: the model's spec plus the new modules and task,
 * trained from the model's parameters with the model's modules frozen (or, fine-tuning, every
 * model module the new task does not use), a weighted schedule that spends
 * {@code rehearsal_rate} of the steps on the old tasks, and the old tasks' metrics before the job
 * as the forgetting report's baseline. Errors name the request's fields ({@code task.path[0]},
 * {@code options.maxSteps}). Thread-safe; {@link #plan} reads data, so it runs off gRPC threads.
 */
public final class TaskAdditions {

  /** The job that adds the task: its spec and its plan, starting from the model. */
  public record Addition(JobSpec spec, TrainingPlan plan) {}

  private static final List<String> TRUNK_MODES = List.of("frozen", "fine_tune");

  private final ModelRegistry models;
  private final Path baseDir;

  /** @param baseDir where relative data paths of the specs resolve */
  public TaskAdditions(ModelRegistry models, Path baseDir) {
    this.models = models;
    this.baseDir = baseDir;
  }

  /** Checks {@code request} and builds the job that trains the new task. */
  public Addition plan(AddTaskRequest request) throws ModelLookupException,
      InvalidSpecException {
    TrainedModel model = models.resolve(request.getModel(), request.getJobId()).model();
    AddTaskOptions options = request.getOptions();
    String trunk = options.getTrunk().isEmpty() ? TRUNK_MODES.get(0) : options.getTrunk();
    if (!TRUNK_MODES.contains(trunk)) {
      throw new InvalidSpecException("options.trunk", "unknown trunk mode '" + trunk
          + "'; expected one of " + TRUNK_MODES);
    }
    boolean fineTune = trunk.equals("fine_tune");
    double rehearsal = options.getRehearsalRate();
    if (!(rehearsal >= 0 && rehearsal < 1)) {
      throw new InvalidSpecException("options.rehearsalRate",
          "expected a fraction of steps in [0, 1), found " + rehearsal);
    }
    double pull = options.getTrunkPull();
    if (!(pull >= 0) || Double.isInfinite(pull)) {
      throw new InvalidSpecException("options.trunkPull",
          "expected a finite strength >= 0, found " + pull);
    }
    if (!fineTune && (rehearsal > 0 || pull > 0)) {
      throw new InvalidSpecException(rehearsal > 0 ? "options.rehearsalRate" : "options.trunkPull",
          "only applies with options.trunk = fine_tune; a frozen trunk cannot forget");
    }
    if (options.getMaxSteps() <= 0) {
      throw new InvalidSpecException("options.maxSteps",
          "expected a positive number of steps, found " + options.getMaxSteps());
    }
    if (!request.hasTask()) {
      throw new InvalidSpecException("task", "expected the task to add, found none");
    }
    JobSpec base = model.spec();
    TaskSpec task = request.getTask();
    checkNewNames(base, request);

    JobSpec spec = spec(base, request, rehearsal);
    TrainingPlan plan;
    try {
      plan = JobSpecCompiler.compile(spec, baseDir);
    } catch (InvalidSpecException e) {
      throw inRequestTerms(e, base);
    }
    Set<String> frozen = new HashSet<>();
    Set<String> newTaskModules = plan.graph().task(task.getName()).moduleNames();
    for (ModuleSpec module : base.getModulesList()) {
      if (!fineTune || !newTaskModules.contains(module.getName())) {
        frozen.add(module.getName());
      }
    }
    Map<String, Map<String, Double>> baseline = new LinkedHashMap<>();
    for (TaskSpec old : base.getTasksList()) {
      baseline.put(old.getName(), new TaskProgram(plan.graph().task(old.getName()),
          DataType.FLOAT).evaluate(model.parameters(), plan.evaluationData().get(old.getName())));
    }
    return new Addition(spec, plan.withStart(
        new StartingPoint(model.parameters(), frozen, pull, baseline)));
  }

  /** The model's spec with the new modules and task, the new job's stop, name and schedule. */
  private static JobSpec spec(JobSpec base, AddTaskRequest request, double rehearsal) {
    AddTaskOptions options = request.getOptions();
    String taskName = request.getTask().getName();
    ScheduleSpec.Builder schedule = ScheduleSpec.newBuilder().setPolicy("weighted")
        .putWeights(taskName, 1 - rehearsal);
    if (rehearsal > 0) {
      base.getTasksList().forEach(old ->
          schedule.putWeights(old.getName(), rehearsal / base.getTasksCount()));
    }
    JobSpec.Builder spec = base.toBuilder()
        .addAllModules(request.getModulesList())
        .addTasks(request.getTask())
        .setName(options.getName().isEmpty() ? base.getName() + "+" + taskName : options.getName())
        .setStop(StopCondition.newBuilder().setMaxSteps(options.getMaxSteps()))
        .setSchedule(schedule);
    if (options.hasOptimizer()) {
      spec.setOptimizer(options.getOptimizer());
    }
    if (options.getSeed() != 0) {
      spec.setSeed(options.getSeed());
    }
    return spec.build();
  }

  private static void checkNewNames(JobSpec base, AddTaskRequest request)
      throws InvalidSpecException {
    for (TaskSpec old : base.getTasksList()) {
      if (old.getName().equals(request.getTask().getName())) {
        throw new InvalidSpecException("task.name", "the model already has a task '"
            + old.getName() + "'; a new task needs a new name");
      }
    }
    Set<String> known = new HashSet<>();
    base.getModulesList().forEach(module -> known.add(module.getName()));
    for (int i = 0; i < request.getModulesCount(); i++) {
      if (known.contains(request.getModules(i).getName())) {
        throw new InvalidSpecException("modules[" + i + "].name", "the model already has a "
            + "module '" + request.getModules(i).getName() + "'; use it by name, or rename the "
            + "new one");
      }
    }
    for (OutputSpec output : request.getTask().getOutputsList()) {
      if (output.getModulesCount() == 0) {
        throw new InvalidSpecException("task.outputs", "expected modules in every output");
      }
    }
  }

  /** Renames the merged spec's field paths to the request's: tasks[N] to task, and so on. */
  private static InvalidSpecException inRequestTerms(InvalidSpecException e, JobSpec base) {
    String field = e.field();
    String problem = e.getMessage().substring(Math.min(e.getMessage().length(),
        field.length() + 2));
    String newTask = "tasks[" + base.getTasksCount() + "]";
    if (field.startsWith(newTask)) {
      return new InvalidSpecException("task" + field.substring(newTask.length()), problem);
    }
    java.util.regex.Matcher module = java.util.regex.Pattern.compile("^modules\\[(\\d+)\\]")
        .matcher(field);
    if (module.find() && Integer.parseInt(module.group(1)) >= base.getModulesCount()) {
      return new InvalidSpecException("modules[" + (Integer.parseInt(module.group(1))
          - base.getModulesCount()) + "]" + field.substring(module.end()), problem);
    }
    return e;
  }
}
