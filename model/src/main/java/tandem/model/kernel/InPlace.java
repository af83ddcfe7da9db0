package tandem.model.kernel;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Element-wise arithmetic in place, on the fused path as loops over heap copies of the native
 * buffers, otherwise ND4J's ops ({@link Kernels#fused}). Stateless; each thread has its own
 * chunk arrays.
 */
public final class InPlace {

  private InPlace() {}

  /**
   * {@code target += source}, element by element; both the same length. On the fused path a
   * loop over the two buffers, else ND4J's {@code addi}: the shared-parameter actor adds and
   * scales the gradients of every round, and for the small modules of most multi-task models an
   * ND4J op call (tens of microseconds) cost far more than the arithmetic (2-worker sync training
   * of {@code examples/arithmetic.json} spent a third of its worker threads' time in the two
   * calls, JFR). The same IEEE float sums as ND4J's, so results do not change.
   */
  public static void add(INDArray target, INDArray source) {
    if (!Kernels.fused(target, source) || target.length() != source.length()) {
      target.addi(source);
      return;
    }
    elementwise(Kernels.addressOf(target), Kernels.addressOf(source), target.length(), 0f,
        Elementwise.ADD);
  }

  /** {@code array *= factor} (as a float, as ND4J's {@code muli} takes it); see {@link #add}. */
  public static void multiply(INDArray array, double factor) {
    scalar(array, factor, Elementwise.MULTIPLY);
  }

  /** {@code array /= divisor} (as a float, as ND4J's {@code divi} takes it); see {@link #add}. */
  public static void divide(INDArray array, double divisor) {
    scalar(array, divisor, Elementwise.DIVIDE);
  }

  private static void scalar(INDArray array, double value, Elementwise op) {
    if (Kernels.fused(array)) {
      elementwise(Kernels.addressOf(array), 0, array.length(), (float) value, op);
    } else if (op == Elementwise.MULTIPLY) {
      array.muli(value);
    } else {
      array.divi(value);
    }
  }

  private enum Elementwise { ADD, MULTIPLY, DIVIDE }

  /** Elements per pass of {@link #elementwise}: two 32 KiB heap arrays per thread. */
  private static final int CHUNK = 8192;
  private static final ThreadLocal<float[][]> CHUNKS =
      ThreadLocal.withInitial(() -> new float[][] {new float[CHUNK], new float[CHUNK]});

  /**
   * The operation over {@code length} floats at {@code target} (and {@code source}, for ADD),
   * chunk by chunk through heap arrays, where the loops vectorise (a loop of single-float
   * native reads and writes does not).
   */
  private static void elementwise(long target, long source, long length, float scalar,
      Elementwise op) {
    float[][] chunks = CHUNKS.get();
    float[] a = chunks[0];
    float[] b = chunks[1];
    for (long done = 0; done < length; done += CHUNK) {
      int n = (int) Math.min(CHUNK, length - done);
      long at = target + 4 * done;
      Kernels.read(at, a, 0, n);
      switch (op) {
        case ADD -> {
          Kernels.read(source + 4 * done, b, 0, n);
          for (int i = 0; i < n; i++) {
            a[i] += b[i];
          }
        }
        case MULTIPLY -> {
          for (int i = 0; i < n; i++) {
            a[i] *= scalar;
          }
        }
        case DIVIDE -> {
          for (int i = 0; i < n; i++) {
            a[i] /= scalar;
          }
        }
      }
      Kernels.write(a, 0, n, at);
    }
  }
}
