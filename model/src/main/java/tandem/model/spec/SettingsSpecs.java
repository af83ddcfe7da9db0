package tandem.model.spec;

import java.util.List;
import java.util.Map;
import tandem.api.v1.AggregationSpec;
import tandem.api.v1.ConsistencySpec;
import tandem.api.v1.ScheduleSpec;

/**
 * Checks the job-wide training settings (schedule, consistency, aggregation) against the job's
 * tasks and fills their defaults. Also used on its own for {@code UpdateSchedule}. Stateless.
 */
public final class SettingsSpecs {

  static final List<String> SCHEDULES =
      List.of("round_robin", "random", "proportional", "temperature", "weighted");
  static final List<String> CONSISTENCY_MODES = List.of("sync", "async");
  static final List<String> STALE_POLICIES = List.of("apply", "scale", "drop");
  static final List<String> AGGREGATIONS =
      List.of("mean", "sum", "weighted", "uncertainty", "pcgrad");

  private SettingsSpecs() {}

  /** Checks {@code spec} for a job with {@code tasks}; {@code field} prefixes error paths. */
  public static ScheduleSettings schedule(ScheduleSpec spec, List<String> tasks, String field)
      throws InvalidSpecException {
    String policy = oneOf(spec.getPolicy(), SCHEDULES, field + ".policy", "schedule policy");
    double temperature = spec.getTemperature() == 0 ? 1.0 : spec.getTemperature();
    if (!(temperature > 0) || Double.isInfinite(temperature)) {
      throw new InvalidSpecException(field + ".temperature",
          "expected a positive finite temperature (0 means 1), found " + spec.getTemperature());
    }
    checkTaskMap(spec.getWeightsMap(), tasks, field + ".weights");
    if (policy.equals("weighted")
        && spec.getWeightsMap().values().stream().noneMatch(weight -> weight > 0)) {
      throw new InvalidSpecException(field + ".weights",
          "expected a positive weight for at least one task under the weighted policy, found "
              + (spec.getWeightsCount() == 0 ? "none" : spec.getWeightsMap()));
    }
    return new ScheduleSettings(policy, spec.getWeightsMap(), temperature);
  }

  static ConsistencySettings consistency(ConsistencySpec spec) throws InvalidSpecException {
    String mode = oneOf(spec.getMode(), CONSISTENCY_MODES, "consistency.mode",
        "consistency mode");
    int stepsInFlight = spec.getStepsInFlight();
    if (stepsInFlight < 0) {
      throw new InvalidSpecException("consistency.stepsInFlight",
          "expected steps in flight >= 0 (0: the default, 1 in sync mode and "
              + ConsistencySettings.ASYNC_STEPS_IN_FLIGHT + " in async mode), found "
              + stepsInFlight);
    }
    Integer maxStaleness = null;
    if (spec.hasMaxStaleness()) {
      if (!mode.equals("async")) {
        throw new InvalidSpecException("consistency.maxStaleness",
            "bounded staleness needs mode async, found mode " + mode);
      }
      if (spec.getMaxStaleness() < 0) {
        throw new InvalidSpecException("consistency.maxStaleness",
            "expected a staleness bound >= 0, found " + spec.getMaxStaleness());
      }
      maxStaleness = spec.getMaxStaleness();
    }
    String stale = oneOf(spec.getStaleGradients(), STALE_POLICIES, "consistency.staleGradients",
        "stale-gradient policy");
    if (spec.getDropStaleness() < 0) {
      throw new InvalidSpecException("consistency.dropStaleness",
          "expected a staleness >= 0, found " + spec.getDropStaleness());
    }
    if (stepsInFlight == 0) {
      stepsInFlight = mode.equals("async") ? ConsistencySettings.ASYNC_STEPS_IN_FLIGHT : 1;
    }
    return new ConsistencySettings(mode, stepsInFlight, maxStaleness, stale,
        spec.getDropStaleness());
  }

  static AggregationSettings aggregation(AggregationSpec spec, List<String> tasks)
      throws InvalidSpecException {
    String method = oneOf(spec.getMethod(), AGGREGATIONS, "aggregation.method",
        "aggregation method");
    checkTaskMap(spec.getTaskWeightsMap(), tasks, "aggregation.taskWeights");
    if (spec.getMaxAge() < 0) {
      throw new InvalidSpecException("aggregation.maxAge",
          "expected an age >= 0 in versions (0 means 8), found " + spec.getMaxAge());
    }
    if (!Double.isFinite(spec.getInitialLogVariance())) {
      throw new InvalidSpecException("aggregation.initialLogVariance",
          "expected a finite log-variance, found " + spec.getInitialLogVariance());
    }
    return new AggregationSettings(method, spec.getTaskWeightsMap(),
        spec.getMaxAge() == 0 ? 8 : spec.getMaxAge(), spec.getInitialLogVariance());
  }

  /** {@code value} if allowed, the first allowed name if empty; otherwise fails listing them. */
  static String oneOf(String value, List<String> allowed, String field, String what)
      throws InvalidSpecException {
    if (value.isEmpty()) {
      return allowed.get(0);
    }
    if (!allowed.contains(value)) {
      throw new InvalidSpecException(field,
          "unknown " + what + " '" + value + "'; expected one of " + allowed);
    }
    return value;
  }

  private static void checkTaskMap(Map<String, Double> values, List<String> tasks, String field)
      throws InvalidSpecException {
    for (Map.Entry<String, Double> entry : values.entrySet()) {
      if (!tasks.contains(entry.getKey())) {
        throw new InvalidSpecException(field, "unknown task '" + entry.getKey()
            + "'; tasks are " + tasks);
      }
      if (!(entry.getValue() >= 0) || Double.isInfinite(entry.getValue())) {
        throw new InvalidSpecException(field, "expected a finite weight >= 0 for task '"
            + entry.getKey() + "', found " + entry.getValue());
      }
    }
  }
}
