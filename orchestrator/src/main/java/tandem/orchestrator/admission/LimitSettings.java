package tandem.orchestrator.admission;

import com.typesafe.config.Config;

/**
 * What one client may ask of the server ({@code tandem.orchestrator.limits}, defaults and their
 * reasons in reference.conf). Each is checked where the request arrives, before any work is done
 * for it, and a request over one is refused with RESOURCE_EXHAUSTED naming the limit, the value
 * and the setting ({@link LimitExceededException}). Immutable.
 *
 * @param memoryBudgetBytes off-heap bytes a job's estimate may use; 0 in the config means
 *     JavaCPP's {@code org.bytedeco.javacpp.maxbytes} of this JVM
 */
public record LimitSettings(long parametersPerJob, long memoryBudgetBytes, int batchRows,
    long builtinExamples, int tasks, int modules, int pathLength, int layers, int layerSize,
    int stepsInFlight, int workers, long maxSteps, int concurrentJobs, int retainedJobs,
    int subscribersPerJob, int predictRows, int requestBytes, int nameChars, int pathChars,
    long modelBytes) {

  /** The config path of the settings; {@code PREFIX + "tasks"} names one. */
  public static final String PREFIX = "tandem.orchestrator.limits.";

  public static LimitSettings create(Config config) {
    Config c = config.getConfig("tandem.orchestrator.limits");
    long budget = c.getBytes("memory-budget");
    if (budget <= 0) {
      budget = org.bytedeco.javacpp.Pointer.maxBytes();
    }
    return new LimitSettings(
        c.getLong("parameters-per-job"),
        budget,
        c.getInt("batch-rows"),
        c.getLong("builtin-examples"),
        c.getInt("tasks"),
        c.getInt("modules"),
        c.getInt("path-length"),
        c.getInt("layers"),
        c.getInt("layer-size"),
        c.getInt("steps-in-flight"),
        c.getInt("workers"),
        c.getLong("max-steps"),
        c.getInt("concurrent-jobs"),
        c.getInt("retained-jobs"),
        c.getInt("subscribers-per-job"),
        c.getInt("predict-rows"),
        c.getBytes("request-bytes").intValue(),
        c.getInt("name-chars"),
        c.getInt("path-chars"),
        c.getBytes("model-bytes"));
  }
}
