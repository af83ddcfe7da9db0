package tandem.model.optim;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * The optimizer state of one flat parameter block (Adam's moments, the step count), driven by
 * ND4J's {@link GradientUpdater}. Confined to the thread (actor) that owns the block.
 */
public final class OptimizerState {

  private final long parameterCount;
  private final INDArray state;
  private final GradientUpdater<?> updater;
  private int iteration;

  public OptimizerState(IUpdater config, long parameterCount, DataType dataType) {
    this.parameterCount = parameterCount;
    long stateSize = config.stateSize(parameterCount);
    // ND4J's updaters read the gradient shape from a [1, stateSize] view.
    this.state = stateSize == 0 ? null : Nd4j.zeros(dataType, 1, stateSize);
    this.updater = config.instantiate(state, true);
  }

  /**
   * Turns {@code gradient} into this step's update (overwriting it) and subtracts that from
   * {@code parameters}. Both are flat buffers of the block's length.
   */
  public void applyInPlace(INDArray parameters, INDArray gradient) {
    if (parameters.length() != parameterCount || gradient.length() != parameterCount) {
      throw new IllegalArgumentException("expected " + parameterCount
          + " parameters and gradients, found " + parameters.length() + " and "
          + gradient.length());
    }
    updater.applyUpdater(gradient.reshape(1, parameterCount), iteration, 0);
    iteration++;
    parameters.subi(gradient);
  }

  /** Updates applied so far. */
  public int iteration() {
    return iteration;
  }
}
