package tandem.model.module;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A named, parameterised network piece. Its parameters are one flat buffer (a 1-d array of
 * {@link #parameterCount()} values) and so are its gradients; a module holds no parameters itself,
 * so one module instance serves the master copy, every replica and every gradient buffer.
 *
 * <p>Per-batch work arrays live in {@link Buffers} made once per batch size by
 * {@link #createBuffers}: a forward pass fills them and the matching backward pass reads them.
 * Implementations are immutable and thread-safe; a {@code Buffers} is confined to one thread.
 */
public interface Module {

  /** The module's name in the job spec. */
  String name();

  /** Width of one input row. */
  int inputSize();

  /** Width of one output row. */
  int outputSize();

  /**
   * Whether the input is integer ids (held as floats) rather than features: such a module must
   * read a data field directly, and its backward pass returns no input gradient.
   */
  default boolean readsIds() {
    return false;
  }

  /** Length of the flat parameter (and gradient) buffer. */
  long parameterCount();

  /** Fills {@code parameters} with initial values drawn from a stream seeded by {@code seed}. */
  void initializeInPlace(INDArray parameters, long seed);

  /** Work arrays for batches of {@code batchSize} rows in {@code dataType}. */
  Buffers createBuffers(int batchSize, DataType dataType);

  /**
   * Computes the output for {@code input} ({@code [batch, inputSize]}). The returned array belongs
   * to {@code buffers} and is overwritten by the next forward pass.
   */
  INDArray forward(INDArray parameters, INDArray input, Buffers buffers);

  /**
   * Back-propagates {@code outputGradient} (dLoss/dOutput of the last forward pass with these
   * buffers), <em>adds</em> dLoss/dParameters into {@code parameterGradient} and returns
   * dLoss/dInput (owned by {@code buffers}), or {@code null} when {@code inputGradientNeeded} is
   * false (the first module of a path: its input is data, so that product would be wasted).
   */
  INDArray backward(INDArray parameters, INDArray outputGradient, Buffers buffers,
      INDArray parameterGradient, boolean inputGradientNeeded);

  /** Per-batch work arrays of one module; confined to one thread. */
  interface Buffers {
    /** Rows per batch these buffers were made for. */
    int batchSize();
  }
}
