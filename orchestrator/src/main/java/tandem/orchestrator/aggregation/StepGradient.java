package tandem.orchestrator.aggregation;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One step's gradients of the shared modules it used, with its task and loss (uncertainty
 * weighting learns from the loss). The arrays belong to the aggregation once handed over: it may
 * overwrite them. Immutable otherwise.
 */
public record StepGradient(String task, long step, double loss, Map<String, INDArray> gradients) {}
