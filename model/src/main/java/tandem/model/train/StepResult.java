package tandem.model.train;

import java.util.Map;

/**
 * What one step of one task computed: the task's loss (weighted sum over outputs), each output's
 * unweighted loss in spec order, and the batch size. Immutable.
 */
public record StepResult(double loss, Map<String, Double> outputLosses, int examples) {

  public StepResult {
    outputLosses = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(outputLosses));
  }
}
