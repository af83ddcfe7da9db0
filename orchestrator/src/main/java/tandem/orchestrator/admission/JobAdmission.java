package tandem.orchestrator.admission;

import java.util.List;
import tandem.api.v1.DataSpec;
import tandem.api.v1.JobSpec;
import tandem.api.v1.ModuleSpec;
import tandem.api.v1.TaskSpec;
import tandem.model.spec.InvalidSpecException;

/**
 * What a job spec must pass before the server spends anything on it (compiling reads data,
 * starting allocates parameters): names, the {@link LimitSettings} (counts, sizes, parameters
 * and an estimate of the off-heap memory against the budget), checkpoint settings, and the
 * {@link DataRoots} of its data files. A job that would not fit is refused here, never started,
 * so it can neither take the server down nor be resumed into a crash at every restart.
 * Immutable; thread-safe.
 */
public final class JobAdmission {

  /** Bytes per float, the element type of every parameter and buffer. */
  private static final long FLOAT_BYTES = 4;
  /** Master copy, gradient and the two Adam moments of every parameter. */
  private static final long COPIES_PER_PARAMETER = 4;

  /** Bytes of a frame's envelope and the spec around the parameters of one message. */
  private static final long FRAME_HEADROOM = 1 << 20;

  private final LimitSettings limits;
  private final DataRoots roots;
  private final long frameBytes;

  public JobAdmission(LimitSettings limits, DataRoots roots) {
    this(limits, roots, 0);
  }

  /**
   * @param frameBytes the largest message the server's cluster transport carries (Artery's
   *     maximum-frame-size), which drops larger ones silently; 0: no cluster, no such limit
   *     (embedded workers get their parameters by reference)
   */
  public JobAdmission(LimitSettings limits, DataRoots roots, long frameBytes) {
    this.limits = limits;
    this.roots = roots;
    this.frameBytes = frameBytes;
  }

  public LimitSettings limits() {
    return limits;
  }

  public DataRoots roots() {
    return roots;
  }

  /** Refuses {@code spec} if it breaks a rule or a limit; the data roots are checked last. */
  public void check(JobSpec spec) throws InvalidSpecException, LimitExceededException {
    atMost("name", "name characters", spec.getName().length(), limits.nameChars(),
        "name-chars");
    atMost("tasks", "tasks", spec.getTasksCount(), limits.tasks(), "tasks");
    long[] sizes = checkModules(spec.getModulesList());
    long parameters = sizes[0];
    long widest = sizes[1];
    long batchRows = 0;
    for (int t = 0; t < spec.getTasksCount(); t++) {
      checkTask(spec.getTasks(t), "tasks[" + t + "]");
      batchRows = Math.max(batchRows, spec.getTasks(t).getBatchSize());
    }
    atMost("consistency.stepsInFlight", "steps in flight",
        spec.getConsistency().getStepsInFlight(), limits.stepsInFlight(), "steps-in-flight");
    atMost("workers", "workers", spec.getWorkers(), limits.workers(), "workers");
    atMost("stop.maxSteps", "steps", spec.getStop().getMaxSteps(), limits.maxSteps(),
        "max-steps");
    checkMemory(spec, parameters, batchRows, widest);
    checkFrame(parameters);
    checkCheckpoint(spec);
    roots.check(spec);
  }

  /**
   * Refuses {@code modules} (a spec's, or the new ones of an AddTask request) over a size limit
   * or with a bad name; returns their parameter count and widest layer.
   */
  public long[] checkModules(List<ModuleSpec> modules)
      throws InvalidSpecException, LimitExceededException {
    atMost("modules", "modules", modules.size(), limits.modules(), "modules");
    long parameters = 0;
    long widest = 0;
    for (int m = 0; m < modules.size(); m++) {
      ModuleSpec module = modules.get(m);
      String field = "modules[" + m + "]";
      nameOf(field + ".name", module.getName());
      if (module.hasDense()) {
        atMost(field + ".dense.layers", "layers", module.getDense().getLayersCount(),
            limits.layers(), "layers");
        atMost(field + ".dense.inputSize", "units", module.getDense().getInputSize(),
            limits.layerSize(), "layer-size");
        for (int l = 0; l < module.getDense().getLayersCount(); l++) {
          atMost(field + ".dense.layers[" + l + "].size", "units",
              module.getDense().getLayers(l).getSize(), limits.layerSize(), "layer-size");
        }
      }
      parameters = ParameterEstimate.add(parameters, ParameterEstimate.of(module));
      widest = Math.max(widest, ParameterEstimate.width(module));
    }
    atMost("modules", "parameters per job", parameters, limits.parametersPerJob(),
        "parameters-per-job");
    return new long[] {parameters, widest};
  }

  /** Refuses {@code task} of an AddTask request; its fields are named under {@code field}. */
  public void checkTask(TaskSpec task, String field)
      throws InvalidSpecException, LimitExceededException {
    nameOf(field + ".name", task.getName());
    int pathLength = task.getPathCount() + task.getStepsCount();
    for (var output : task.getOutputsList()) {
      pathLength = Math.max(pathLength, task.getPathCount() + task.getStepsCount()
          + output.getModulesCount());
    }
    atMost(field + ".path", "path length", pathLength, limits.pathLength(), "path-length");
    atMost(field + ".batchSize", "batch rows", task.getBatchSize(), limits.batchRows(),
        "batch-rows");
    checkData(task.getData(), field + ".data");
    checkData(task.getEvalData(), field + ".evalData");
  }

  /** Refuses a job when as many as the limit are already pending or running. */
  public void checkConcurrent(long unfinishedJobs) throws LimitExceededException {
    if (unfinishedJobs >= limits.concurrentJobs()) {
      throw new LimitExceededException("spec", "concurrent jobs", unfinishedJobs + 1,
          limits.concurrentJobs(), "concurrent-jobs");
    }
  }

  private void checkData(DataSpec data, String field)
      throws InvalidSpecException, LimitExceededException {
    if (data.hasBuiltin()) {
      for (String option : List.of("examples", "count")) {
        String value = data.getBuiltin().getOptionsOrDefault(option, "");
        if (value.isEmpty()) {
          continue;
        }
        String optionField = field + ".builtin.options." + option;
        long examples;
        try {
          examples = Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
          throw new InvalidSpecException(optionField, "expected a whole number, found "
              + Names.quote(value));
        }
        atMost(optionField, "examples", examples, limits.builtinExamples(), "builtin-examples");
      }
    }
    String path = switch (data.getSourceCase()) {
      case CSV -> data.getCsv().getPath();
      case TEXT_PAIRS -> data.getTextPairs().getPath();
      case CONLL -> data.getConll().getPath();
      default -> "";
    };
    atMost(field, "path characters", path.length(), limits.pathChars(), "path-chars");
  }

  private void nameOf(String field, String name) throws InvalidSpecException {
    String problem = Names.problem(name, limits.nameChars());
    if (problem != null) {
      throw new InvalidSpecException(field, problem);
    }
  }

  /**
   * Off-heap bytes the job would take at least: every parameter with its gradient and optimizer
   * moments, a replica per worker, and per task the work buffers of a batch through the widest
   * module (activations and their gradients along the path).
   */
  private void checkMemory(JobSpec spec, long parameters, long batchRows, long widest)
      throws LimitExceededException {
    // A worker holds replicas only for the tasks it owns.
    long replicas = Math.max(1, Math.min(spec.getTasksCount(), spec.getWorkers() > 0
        ? spec.getWorkers() : Runtime.getRuntime().availableProcessors()));
    long perParameter = ParameterEstimate.times(FLOAT_BYTES,
        COPIES_PER_PARAMETER + 2 * replicas);
    long bytes = ParameterEstimate.times(Math.max(1, parameters), perParameter);
    long pathModules = 0;
    for (TaskSpec task : spec.getTasksList()) {
      pathModules = ParameterEstimate.add(pathModules, task.getPathCount()
          + task.getStepsCount() + task.getOutputsCount() + 1L);
    }
    bytes = ParameterEstimate.add(bytes, ParameterEstimate.times(ParameterEstimate.times(
        ParameterEstimate.times(Math.max(1, batchRows), Math.max(1, widest)), pathModules),
        2 * FLOAT_BYTES));
    atMost("modules", "estimated off-heap bytes", bytes, limits.memoryBudgetBytes(),
        "memory-budget");
  }

  /**
   * A trunk version, an assignment (heads and trunk) or a worker's heads go to and from a cluster
   * worker as one message each: a job whose parameters could not fit in one frame would hang at
   * its first one, so it is refused here, naming the limit.
   */
  private void checkFrame(long parameters) throws LimitExceededException {
    if (frameBytes <= 0) {
      return;
    }
    long bytes = ParameterEstimate.times(parameters, FLOAT_BYTES);
    long limit = frameBytes - FRAME_HEADROOM;
    if (bytes > limit) {
      throw new LimitExceededException("modules", "the job's " + parameters + " parameters take "
          + bytes + " bytes, over the " + limit + " bytes of parameters one message to a"
          + " cluster worker can carry (a frame of " + frameBytes + " bytes,"
          + " pekko.remote.artery.advanced.maximum-frame-size, less " + FRAME_HEADROOM
          + " for the rest of the message; about " + limit / FLOAT_BYTES
          + " parameters); larger jobs run only on a server without a cluster port");
    }
  }

  private static void checkCheckpoint(JobSpec spec) throws InvalidSpecException {
    if (spec.getCheckpoint().getEverySteps() < 0) {
      throw new InvalidSpecException("checkpoint.everySteps", "expected 0 (the server's "
          + "default) or more steps, found " + spec.getCheckpoint().getEverySteps());
    }
    var every = spec.getCheckpoint().getEvery();
    if (every.getSeconds() < 0 || every.getNanos() < 0) {
      throw new InvalidSpecException("checkpoint.every", "expected 0 (the server's default) "
          + "or a positive duration, found " + every.getSeconds() + "s");
    }
  }

  private static void atMost(String field, String what, long value, long limit, String setting)
      throws LimitExceededException {
    if (value > limit) {
      throw new LimitExceededException(field, what, value, limit, setting);
    }
  }
}
