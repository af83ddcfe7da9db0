package tandem.model.spec;

import java.util.Map;

/**
 * A checked schedule: the policy ({@code round_robin}, {@code random}, {@code proportional},
 * {@code temperature}, {@code weighted}), the explicit weight per task (weighted only; missing
 * tasks weigh 0) and the temperature (temperature only). Immutable.
 */
public record ScheduleSettings(String policy, Map<String, Double> weights, double temperature) {

  public ScheduleSettings {
    weights = Map.copyOf(weights);
  }
}
