package tandem.model.module;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Where each parameter block of a module sits in its flat buffer: blocks in order, back to back.
 * One place for the offsets and the shape check every module needs. Immutable.
 */
final class FlatLayout {

  private final String module;
  private final long[] offsets;

  /** Blocks of the given sizes, in order, for the module named {@code module}. */
  FlatLayout(String module, long... sizes) {
    this.module = module;
    this.offsets = new long[sizes.length + 1];
    for (int i = 0; i < sizes.length; i++) {
      offsets[i + 1] = offsets[i] + sizes[i];
    }
  }

  /** Length of the whole flat buffer. */
  long total() {
    return offsets[offsets.length - 1];
  }

  /** Where block {@code index} starts in the flat buffer. */
  long offset(int index) {
    return offsets[index];
  }

  /** Block {@code index} of {@code flat}, a 1-d view. */
  INDArray block(INDArray flat, int index) {
    return flat.get(NDArrayIndex.interval(offsets[index], offsets[index + 1]));
  }

  /** Fails unless {@code flat} is a 1-d buffer of {@link #total()} values. */
  void check(INDArray flat) {
    if (flat.length() != total() || flat.rank() != 1) {
      throw new IllegalArgumentException(module + ": expected a flat buffer of " + total()
          + " parameters, found shape " + Arrays.toString(flat.shape()));
    }
  }
}
