package tandem.model.optim;

import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;
import tandem.model.kernel.Kernels;
import tandem.model.module.Embedding;
import tandem.model.module.Module;

/**
 * The optimizer state of one flat parameter block (Adam's moments, the step count). Confined to
 * the thread (actor) that owns the block.
 *
 * <p>Float Adam and SGD run as one loop over heap copies of the buffers: measured on the 2-core
 * machines, ND4J's Adam updater op took 300-500 us for a 16,640-float block (about 100 us of
 * fixed cost per call, then 5 ns per element), and it ran on the shared-parameter actor for
 * every step, which made it the limit of async training. The loop
 * follows ND4J's Adam exactly (the bias corrections folded into the step size, Kingma and Ba 2015,
 * section 2) and is checked against ND4J's updater in the tests; other data types and optimizers
 * go through ND4J's {@link GradientUpdater}.
 *
 * <p>With lazy embedding updates ({@link OptimizerSettings#lazyEmbeddingUpdates}) an embedding
 * table's rows whose gradient is all zero (ids absent from the batch) are skipped: no parameter
 * change and no moment decay, as TensorFlow's LazyAdam. The step count, and so Adam's bias
 * correction and the learning-rate decay, stays per block. That cuts the arithmetic and the
 * moment traffic to the batch's rows; the gradient is still read whole once to find them.
 */
public final class OptimizerState {

  /** Floats per chunk of the fused loops: 4 KB of each array, so a chunk stays in L1 throughout. */
  private static final int CHUNK = 1024;

  private final OptimizerSettings settings;
  private final long parameterCount;
  private final INDArray state;
  private final GradientUpdater<?> updater;
  private final float[][] scratch = new float[2][];
  /** Row widths of each table, in order, for lazy embedding updates; null for dense updates. */
  private final Rows rows;
  private float[] firstMoments;
  private float[] secondMoments;
  private int iteration;

  /** Consecutive tables of {@code counts[t]} rows of {@code widths[t]} values. */
  private record Rows(int[] counts, int[] widths) {}

  public OptimizerState(OptimizerSettings settings, long parameterCount, DataType dataType) {
    this(settings, parameterCount, dataType, null);
  }

  /**
   * The state of {@code parameterCount} parameters of {@code module} (null when unknown): with
   * lazy embedding updates for an embedding's tables when {@code settings} asks for them, dense
   * otherwise.
   */
  public static OptimizerState forModule(OptimizerSettings settings, Module module,
      long parameterCount, DataType dataType) {
    Rows rows = null;
    if (settings.lazyEmbeddingUpdates() && module instanceof Embedding embedding
        && embedding.parameterCount() == parameterCount) {
      int tables = embedding.tables().size();
      int[] counts = new int[tables];
      int[] widths = new int[tables];
      for (int t = 0; t < tables; t++) {
        counts[t] = embedding.tables().get(t).vocabularySize();
        widths[t] = embedding.tables().get(t).dimension();
      }
      rows = new Rows(counts, widths);
    }
    return new OptimizerState(settings, parameterCount, dataType, rows);
  }

  private OptimizerState(OptimizerSettings settings, long parameterCount, DataType dataType,
      Rows rows) {
    this.settings = settings;
    this.rows = rows;
    this.parameterCount = parameterCount;
    IUpdater config = settings.toUpdater();
    long stateSize = config.stateSize(parameterCount);
    if (fused(dataType)) {
      this.state = null;
      this.updater = null;
    } else {
      // ND4J's updaters read the gradient shape from a [1, stateSize] view.
      this.state = stateSize == 0 ? null : Nd4j.zeros(dataType, 1, stateSize);
      this.updater = config.instantiate(state, true);
    }
  }

  /**
   * Subtracts this step's update for {@code gradient} from {@code parameters}. Both are flat
   * buffers of the block's length. {@code gradient} is the caller's to reuse afterwards, its
   * contents unspecified: the fused loops leave it as it was, ND4J's updaters (other data types
   * and optimizers) turn it into the update.
   */
  public void applyInPlace(INDArray parameters, INDArray gradient) {
    applyInto(parameters, parameters, gradient);
  }

  /**
   * As {@link #applyInPlace}, with the updated parameters written to {@code target} (whatever it
   * held) and {@code parameters} left as they were: a new version of shared parameters in one
   * pass, without first copying the old one. All three are flat buffers of the block's length.
   */
  public void applyInto(INDArray parameters, INDArray target, INDArray gradient) {
    if (target != parameters) {
      if (target.length() != parameterCount) {
        throw new IllegalArgumentException("expected a target of " + parameterCount
            + " parameters, found " + target.length());
      }
      if (updater != null || rows != null || !contiguous(target)
          || target.dataType() != DataType.FLOAT) {
        // These update in place (lazy rows: only the rows with a gradient are written).
        target.assign(parameters);
        applyInPlace(target, gradient);
        return;
      }
    }
    if (parameters.length() != parameterCount || gradient.length() != parameterCount) {
      throw new IllegalArgumentException("expected " + parameterCount
          + " parameters and gradients, found " + parameters.length() + " and "
          + gradient.length());
    }
    if (parameterCount > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("expected at most 2^31 - 1 parameters per block, found "
          + parameterCount);
    }
    if (updater == null && parameters.dataType() == DataType.FLOAT
        && gradient.dataType() == DataType.FLOAT && contiguous(parameters)
        && contiguous(gradient)) {
      if (rows != null) {
        applyLazy(parameters, gradient);
      } else {
        applyFused(parameters, target, List.of(gradient));
      }
    } else if (updater == null) {
      throw new IllegalArgumentException("expected contiguous float buffers, found "
          + parameters.dataType() + " parameters and " + gradient.dataType() + " gradients");
    } else {
      updater.applyUpdater(gradient.reshape(1, parameterCount), iteration, 0);
      parameters.subi(gradient);
    }
    iteration++;
  }

  /**
   * As {@link #applyInto} once per gradient, in order: the first update reads {@code parameters},
   * each next one the result of the one before, and the last result is in {@code target}. With
   * the fused loops, in one pass over the block: each chunk of the parameters and moments takes
   * every update while it is in the L1 cache, and is read and written once instead of once per
   * update (the same arithmetic in the same order, so the same floats as one by one). An async
   * job's worker applying several steps' shared gradients together reads the shared state, which
   * the other worker's core wrote last, once for all of them.
   */
  public void applyAllInto(INDArray parameters, INDArray target, List<INDArray> gradients) {
    if (gradients.isEmpty()) {
      throw new IllegalArgumentException("expected at least one gradient");
    }
    if (gradients.size() == 1 || !fusedFor(parameters, target, gradients)) {
      applyInto(parameters, target, gradients.get(0));
      for (int j = 1; j < gradients.size(); j++) {
        applyInPlace(target, gradients.get(j));
      }
      return;
    }
    applyFused(parameters, target, gradients);
    iteration += gradients.size();
  }

  /** Whether {@link #applyFused} takes these buffers: dense float blocks of the right length. */
  private boolean fusedFor(INDArray parameters, INDArray target, List<INDArray> gradients) {
    if (updater != null || rows != null || parameterCount > Integer.MAX_VALUE) {
      return false;
    }
    if (!denseFloats(parameters) || !denseFloats(target)) {
      return false;
    }
    for (INDArray gradient : gradients) {
      if (!denseFloats(gradient)) {
        return false;
      }
    }
    return true;
  }

  /** A contiguous float buffer of the block's length. */
  private boolean denseFloats(INDArray buffer) {
    return buffer.dataType() == DataType.FLOAT && contiguous(buffer)
        && buffer.length() == parameterCount;
  }

  /** Updates applied so far. */
  public int iteration() {
    return iteration;
  }

  /**
   * A copy of the state, for checkpoints: ND4J's layout for the optimizer (Adam: the first
   * moments, then the second moments; SGD: empty).
   */
  public float[] copyOfState() {
    int size = (int) stateSize();
    if (size == 0) {
      return new float[0];
    }
    if (state != null) {
      return state.dup().data().asFloat();
    }
    float[] copy = new float[size];
    if (firstMoments != null) {
      int n = (int) parameterCount;
      System.arraycopy(firstMoments, 0, copy, 0, n);
      System.arraycopy(secondMoments, 0, copy, n, n);
    }
    return copy;
  }

  /** Puts back a state taken with {@link #copyOfState()} after {@code updates} updates. */
  public void restoreInPlace(int updates, float[] saved) {
    if (saved.length != stateSize()) {
      throw new IllegalArgumentException("expected an optimizer state of " + stateSize()
          + " floats for " + settings.name() + " over " + parameterCount + " parameters, found "
          + saved.length);
    }
    iteration = updates;
    if (saved.length == 0) {
      return;
    }
    if (state != null) {
      state.assign(Nd4j.createFromArray(saved).reshape(state.shape()).castTo(state.dataType()));
      return;
    }
    int n = (int) parameterCount;
    firstMoments = java.util.Arrays.copyOfRange(saved, 0, n);
    secondMoments = java.util.Arrays.copyOfRange(saved, n, 2 * n);
  }

  /** Floats of state per block: Adam two per parameter, SGD none. */
  public long stateSize() {
    return settings.toUpdater().stateSize(parameterCount);
  }

  private boolean fused(DataType dataType) {
    return dataType == DataType.FLOAT
        && (settings.name().equals("adam") || settings.name().equals("sgd"));
  }

  /**
   * Adam or SGD over the block in chunks of {@link #CHUNK} floats: each chunk of parameters and
   * gradient is copied into the heap arrays at the same indices as the moments, stepped, and
   * written to {@code target} while it is still in the L1 cache; the update is not written back
   * to the gradient. The earlier form copied whole blocks before and after the loop, so each
   * array went through L2 twice more; the two-head bare loop's optimizer step took 15-27 us
   * then and 12-14 us now (timing probes, since removed, in separate runs).
   */
  private void applyFused(INDArray parameters, INDArray target, List<INDArray> gradients) {
    int n = (int) parameterCount;
    float[] p = scratch(0, n);
    float[] g = scratch(1, n);
    boolean sgd = settings.name().equals("sgd");
    int updates = gradients.size();
    float[] rates = new float[updates];
    float[] stepSizes = new float[updates];
    long[] gradientAddresses = new long[updates];
    for (int j = 0; j < updates; j++) {
      rates[j] = (float) settings.learningRate(iteration + j);
      stepSizes[j] = sgd ? 0f : stepSize(iteration + j);
      gradientAddresses[j] = Kernels.addressOf(gradients.get(j));
    }
    long parameterAddress = Kernels.addressOf(parameters);
    long targetAddress = Kernels.addressOf(target);
    for (int from = 0; from < n; from += CHUNK) {
      int length = Math.min(CHUNK, n - from);
      // Bulk copies to heap arrays let the JIT vectorise the loop; element-wise access to the
      // native buffers was ten times slower.
      Kernels.read(parameterAddress + 4L * from, p, from, length);
      for (int j = 0; j < updates; j++) {
        Kernels.read(gradientAddresses[j] + 4L * from, g, from, length);
        step(p, g, from, length, sgd, rates[j], stepSizes[j]);
      }
      Kernels.write(p, from, length, targetAddress + 4L * from);
    }
  }

  /**
   * Adam or SGD on the rows whose gradient is non-zero: the gradient is read whole, each such
   * row's parameters are read, stepped and written back.
   */
  private void applyLazy(INDArray parameters, INDArray gradient) {
    int n = (int) parameterCount;
    float[] p = scratch(0, n);
    float[] g = scratch(1, n);
    Kernels.read(gradient, g);
    boolean sgd = settings.name().equals("sgd");
    float rate = (float) settings.learningRate(iteration);
    float stepSize = sgd ? 0f : stepSize(iteration);
    long parameterAddress = Kernels.addressOf(parameters);
    int start = 0;
    for (int t = 0; t < rows.counts().length; t++) {
      int width = rows.widths()[t];
      for (int r = 0; r < rows.counts()[t]; r++, start += width) {
        if (!nonZero(g, start, width)) {
          continue;
        }
        Kernels.read(parameterAddress + 4L * start, p, start, width);
        step(p, g, start, width, sgd, rate, stepSize);
        Kernels.write(p, start, width, parameterAddress + 4L * start);
      }
    }
  }

  private static boolean nonZero(float[] values, int from, int length) {
    for (int i = from; i < from + length; i++) {
      if (values[i] != 0f) {
        return true;
      }
    }
    return false;
  }

  /**
   * SGD at {@code rate}, or Adam with {@code stepSize} ({@link #stepSize}), on entries {@code
   * [from, from + length)} of the block.
   */
  private void step(float[] p, float[] g, int from, int length, boolean sgd, float rate,
      float stepSize) {
    if (sgd) {
      for (int i = from; i < from + length; i++) {
        p[i] -= rate * g[i];
      }
    } else {
      adam(p, g, from, length, stepSize);
    }
  }

  /**
   * Adam on entries {@code [from, from + length)} of the block: parameters and gradients at the
   * same indices of {@code p} and {@code g} as the moments (one index for every array, which C2
   * vectorises; an offset between them kept this loop scalar, 3x slower). {@code g} is left as
   * it was.
   */
  private void adam(float[] p, float[] g, int from, int length, float stepSize) {
    if (firstMoments == null) {
      int n = (int) parameterCount;
      firstMoments = new float[n];
      secondMoments = new float[n];
    }
    float[] m = firstMoments;
    float[] v = secondMoments;
    double beta1 = settings.beta1();
    double beta2 = settings.beta2();
    float b1 = (float) beta1;
    float b2 = (float) beta2;
    float oneMinusB1 = (float) (1 - beta1);
    float oneMinusB2 = (float) (1 - beta2);
    float epsilon = (float) settings.epsilon();
    for (int i = from; i < from + length; i++) {
      float gi = g[i];
      float mi = b1 * m[i] + oneMinusB1 * gi;
      float vi = b2 * v[i] + oneMinusB2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] -= stepSize * mi / ((float) Math.sqrt(vi) + epsilon);
    }
  }

  /**
   * Adam's step size of the update after {@code updates} others, the bias corrections folded
   * in; computed once per update.
   */
  private float stepSize(int updates) {
    int t = updates + 1;
    return (float) (settings.learningRate(updates)
        * Math.sqrt(1 - Math.pow(settings.beta2(), t)) / (1 - Math.pow(settings.beta1(), t)));
  }

  private float[] scratch(int which, int n) {
    if (scratch[which] == null) {
      scratch[which] = new float[n];
    }
    return scratch[which];
  }

  private static boolean contiguous(INDArray array) {
    return array.rank() == 1 && array.elementWiseStride() == 1;
  }
}
