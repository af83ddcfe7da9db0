package tandem.model.module;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.model.kernel.FusedActivation;
import tandem.model.kernel.Kernels;

/**
 * {@link LstmLayerOp}'s layer on heap arrays, in double precision, with {@code cblas_dgemm} for
 * the products, where ND4J 1.0.0-M2.1's native ops leak native memory (measured with a full GC
 * between calls; batch 32, 12 steps, 64 units): the backward pass ({@code lstmLayer_bp}, about
 * 1 MB a call whatever its arguments, which took a server training {@code shared-decoder} to
 * JavaCPP's 8 GB limit in four minutes) and the forward pass with sequence lengths or the last
 * state ({@code lstmLayer}, about 80 KB a call; the full sequence without lengths does not leak
 * and stays native, unless the caller keeps the recurrence: a {@link Memo}). The backward pass
 * takes the forward pass's recurrence from a {@link Memo} when it has one, and otherwise runs it
 * again to have the gates.
 *
 * <p>The layer, as the op computes it with the arguments {@link LstmLayerOp} passes (no initial
 * state, no peepholes, no clipping): for each step {@code t} of each example within its length,
 * {@code z = x_t Wx + h_(t-1) Wr + b}, gates in the order input, forget, cell, output
 * ({@code i = sigmoid(z_i)}, {@code f = sigmoid(z_f)}, {@code g = tanh(z_g)},
 * {@code o = sigmoid(z_o)}), {@code c_t = f c_(t-1) + i g}, {@code h_t = o tanh(c_t)}. Steps past
 * an example's length take no gradient. Stateless.
 */
final class HeapLstm {

  private HeapLstm() {}

  /**
   * What a forward pass on the heap leaves for the backward pass that follows it with the same
   * arguments (a module's step): the recurrence's gates, cells and outputs, which the backward
   * pass otherwise runs again. Taken once; a backward pass without one recomputes them.
   * Confined to the module's buffers, one thread.
   */
  static final class Memo {
    private Recurrence saved;

    /** The saved recurrence, and none from now on. */
    private Recurrence take() {
      Recurrence run = saved;
      saved = null;
      return run;
    }
  }

  /**
   * Same contract as {@link LstmLayerOp#backward} (without its {@code dLengths}): overwrites
   * {@code dx} ([batch, time, in]), {@code dwx}, {@code dwr} and {@code db}.
   */
  static void backward(INDArray x, INDArray wx, INDArray wr, INDArray b, INDArray lengths,
      INDArray dh, INDArray dLastH, INDArray dx, INDArray dwx, INDArray dwr, INDArray db) {
    backward(x, wx, wr, b, lengths, dh, dLastH, dx, dwx, dwr, db, null);
  }

  /**
   * The same, with the recurrence {@code memo} kept from the forward pass with these arguments
   * (null, or empty: run again).
   */
  static void backward(INDArray x, INDArray wx, INDArray wr, INDArray b, INDArray lengths,
      INDArray dh, INDArray dLastH, INDArray dx, INDArray dwx, INDArray dwr, INDArray db,
      Memo memo) {
    int batch = (int) x.size(0);
    int time = (int) x.size(1);
    int in = (int) x.size(2);
    int hidden = (int) wr.size(0);
    int gates = 4 * hidden;
    double[] xs = doubles(x);
    double[] wxs = doubles(wx);
    double[] wrs = doubles(wr);
    double[] bs = doubles(b);
    double[] dhs = dh == null ? null : doubles(dh);
    double[] dLast = dLastH == null ? null : doubles(dLastH);
    int[] length = lengths(lengths, batch, time);
    boolean fast = approximate(x);
    try (DoublePointer recurrent = new DoublePointer(wrs);
        DoublePointer left = new DoublePointer((long) batch * gates);
        DoublePointer product = new DoublePointer((long) batch * gates)) {
      Recurrence run = memo == null ? null : memo.take();
      if (run == null) {
        run = recurrence(xs, wxs, recurrent, bs, length, batch, time, in, hidden, left, product,
            fast);
      }
      double[][] act = run.gates();
      double[][] cells = run.cells();
      double[][] outs = run.outputs();
      // Backward through time. Every step's dz, and the output each step read, stacked as the
      // rows of x are (example-major): the weight gradients and dx are then one product each,
      // after the loop, and only dh of the step before needs W_r on the way.
      double[] dzs = new double[batch * time * gates];
      double[] previous = new double[batch * time * hidden];
      double[] dhNext = new double[batch * hidden];
      double[] dcNext = new double[batch * hidden];
      double[] dz = new double[batch * gates];
      for (int t = time - 1; t >= 0; t--) {
        double[] a = act[t];
        for (int r = 0; r < batch; r++) {
          for (int k = 0; k < hidden; k++) {
            int row = r * gates;
            int cell = r * hidden + k;
            if (t >= length[r]) {
              dz[row + k] = 0;
              dz[row + hidden + k] = 0;
              dz[row + 2 * hidden + k] = 0;
              dz[row + 3 * hidden + k] = 0;
              dcNext[cell] = 0;
              continue;
            }
            double dht = dhNext[cell];
            if (dhs != null) {
              dht += dhs[(r * time + t) * hidden + k];
            }
            if (dLast != null && t == length[r] - 1) {
              dht += dLast[cell];
            }
            double i = a[row + k];
            double f = a[row + hidden + k];
            double g = a[row + 2 * hidden + k];
            double o = a[row + 3 * hidden + k];
            double tc = tanh(cells[t + 1][cell], fast);
            double dc = dht * o * (1 - tc * tc) + dcNext[cell];
            dz[row + k] = dc * g * i * (1 - i);
            dz[row + hidden + k] = dc * cells[t][cell] * f * (1 - f);
            dz[row + 2 * hidden + k] = dc * i * (1 - g * g);
            dz[row + 3 * hidden + k] = dht * tc * o * (1 - o);
            dcNext[cell] = dc * f;
          }
          System.arraycopy(dz, r * gates, dzs, (r * time + t) * gates, gates);
          System.arraycopy(outs[t], r * hidden, previous, (r * time + t) * hidden, hidden);
        }
        if (t > 0) {
          // dh_(t-1) = dz W_r^T, with W_r in native memory for the whole pass.
          left.put(dz, 0, batch * gates);
          gemm(false, true, batch, hidden, gates, left, recurrent, 0, product);
          product.get(dhNext, 0, batch * hidden);
        }
      }
      double[] dwxs = new double[in * gates];
      double[] dwrs = new double[hidden * gates];
      double[] dxs = new double[batch * time * in];
      double[] dbs = new double[gates];
      int rows = batch * time;
      gemm(true, false, in, gates, rows, xs, dzs, 0, dwxs);
      gemm(true, false, hidden, gates, rows, previous, dzs, 0, dwrs);
      gemm(false, true, rows, in, gates, dzs, wxs, 0, dxs);
      for (int row = 0; row < rows; row++) {
        for (int j = 0; j < gates; j++) {
          dbs[j] += dzs[row * gates + j];
        }
      }
      write(dxs, dx);
      write(dwxs, dwx);
      write(dwrs, dwr);
      write(dbs, db);
    }
  }

  /** Activated gates ([batch, 4h] per step), cell states and outputs ([batch, h], step 0 zeros). */
  private record Recurrence(double[][] gates, double[][] cells, double[][] outputs) {}

  /**
   * The forward recurrence. The inputs' part of every step's gates is one product over all steps
   * (with the bias); each step then adds {@code h_(t-1) W_r} with {@code recurrent} (W_r) already
   * in native memory: passed as a Java array, as it was, JavaCPP copied it in and out of native
   * memory for every product, which made this several times slower than its arithmetic.
   * {@code left} and {@code product} are native work arrays of at least {@code batch x 4h}.
   */
  private static Recurrence recurrence(double[] xs, double[] wxs, DoublePointer recurrent,
      double[] bs, int[] length, int batch, int time, int in, int hidden, DoublePointer left,
      DoublePointer product, boolean fast) {
    double[][] act = new double[time][];
    double[][] cells = new double[time + 1][];
    double[][] outs = new double[time + 1][];
    cells[0] = new double[batch * hidden];
    outs[0] = new double[batch * hidden];
    int gates = 4 * hidden;
    int rows = batch * time;
    double[] inputs = new double[rows * gates];
    for (int row = 0; row < rows; row++) {
      System.arraycopy(bs, 0, inputs, row * gates, gates);
    }
    gemm(false, false, rows, gates, in, xs, wxs, 1, inputs);
    for (int t = 0; t < time; t++) {
      double[] z = new double[batch * gates];
      for (int r = 0; r < batch; r++) {
        System.arraycopy(inputs, (r * time + t) * gates, z, r * gates, gates);
      }
      if (t > 0) {
        left.put(outs[t], 0, batch * hidden);
        product.put(z, 0, batch * gates);
        gemm(false, false, batch, gates, hidden, left, recurrent, 1, product);
        product.get(z, 0, batch * gates);
      }
      double[] c = new double[batch * hidden];
      double[] h = new double[batch * hidden];
      for (int r = 0; r < batch; r++) {
        for (int k = 0; k < hidden; k++) {
          int row = r * gates;
          int cell = r * hidden + k;
          if (t >= length[r]) {
            c[cell] = cells[t][cell];
            h[cell] = outs[t][cell];
            continue;
          }
          double i = sigmoid(z[row + k], fast);
          double f = sigmoid(z[row + hidden + k], fast);
          double g = tanh(z[row + 2 * hidden + k], fast);
          double o = sigmoid(z[row + 3 * hidden + k], fast);
          z[row + k] = i;
          z[row + hidden + k] = f;
          z[row + 2 * hidden + k] = g;
          z[row + 3 * hidden + k] = o;
          c[cell] = f * cells[t][cell] + i * g;
          h[cell] = o * tanh(c[cell], fast);
        }
      }
      act[t] = z;
      cells[t + 1] = c;
      outs[t + 1] = h;
    }
    return new Recurrence(act, cells, outs);
  }

  /**
   * Same contract as {@link LstmLayerOp#forward}: the full output sequence into {@code h}
   * ([batch, time, hidden], zeros past an example's length) and/or the state at each example's
   * last step into {@code lastH}. ND4J's native {@code lstmLayer} leaks about 80 KB a call with
   * sequence lengths (batch 32, 12 steps, 64 units); without them it does not.
   */
  static void forward(INDArray x, INDArray wx, INDArray wr, INDArray b, INDArray lengths,
      INDArray h, INDArray lastH) {
    forward(x, wx, wr, b, lengths, h, lastH, null);
  }

  /** The same, keeping the recurrence in {@code memo} (when not null) for the backward pass. */
  static void forward(INDArray x, INDArray wx, INDArray wr, INDArray b, INDArray lengths,
      INDArray h, INDArray lastH, Memo memo) {
    int batch = (int) x.size(0);
    int time = (int) x.size(1);
    int in = (int) x.size(2);
    int hidden = (int) wr.size(0);
    int[] length = lengths(lengths, batch, time);
    Recurrence run;
    try (DoublePointer recurrent = new DoublePointer(doubles(wr));
        DoublePointer left = new DoublePointer((long) batch * 4 * hidden);
        DoublePointer product = new DoublePointer((long) batch * 4 * hidden)) {
      run = recurrence(doubles(x), doubles(wx), recurrent, doubles(b), length, batch, time, in,
          hidden, left, product, approximate(x));
    }
    if (memo != null) {
      memo.saved = run;
    }
    if (h != null) {
      double[] sequence = new double[batch * time * hidden];
      for (int t = 0; t < time; t++) {
        for (int r = 0; r < batch; r++) {
          if (t < length[r]) {
            System.arraycopy(run.outputs()[t + 1], r * hidden, sequence, (r * time + t) * hidden,
                hidden);
          }
        }
      }
      write(sequence, h);
    }
    if (lastH != null) {
      double[] last = new double[batch * hidden];
      for (int r = 0; r < batch; r++) {
        System.arraycopy(run.outputs()[length[r]], r * hidden, last, r * hidden, hidden);
      }
      write(last, lastH);
    }
  }

  private static int[] lengths(INDArray lengths, int batch, int time) {
    int[] length = new int[batch];
    double[] values = lengths == null ? null : doubles(lengths);
    for (int r = 0; r < batch; r++) {
      length[r] = values == null ? time
          : (int) Math.max(0, Math.min(time, Math.round(values[r])));
    }
    return length;
  }

  /** {@code c = op(a) op(b) + beta c}, row-major, {@code op(a)} [m, k], {@code op(b)} [k, n]. */
  private static void gemm(boolean transposeA, boolean transposeB, int m, int n, int k,
      double[] a, double[] b, double beta, double[] c) {
    openblas.cblas_dgemm(openblas.CblasRowMajor,
        transposeA ? openblas.CblasTrans : openblas.CblasNoTrans,
        transposeB ? openblas.CblasTrans : openblas.CblasNoTrans, m, n, k, 1.0,
        a, transposeA ? m : k, b, transposeB ? k : n, beta, c, n);
  }

  /** The same on native arrays. */
  private static void gemm(boolean transposeA, boolean transposeB, int m, int n, int k,
      DoublePointer a, DoublePointer b, double beta, DoublePointer c) {
    openblas.cblas_dgemm(openblas.CblasRowMajor,
        transposeA ? openblas.CblasTrans : openblas.CblasNoTrans,
        transposeB ? openblas.CblasTrans : openblas.CblasNoTrans, m, n, k, 1.0,
        a, transposeA ? m : k, b, transposeB ? k : n, beta, c, n);
  }

  /**
   * Whether the layer runs on floats (the fused path, training): then tanh is the float rational
   * approximation the dense stacks use ({@link FusedActivation#tanh}, within 4e-7 of it), and
   * the sigmoid follows from it. {@code Math.tanh} is not a JIT intrinsic and took about half of
   * a pass of {@code examples/shared-decoder.json}'s 28-step encoder (bench/run.sh modules).
   * Double arrays (the gradient checks, the comparisons with the native ops) get the exact ones.
   */
  private static boolean approximate(INDArray x) {
    return x.dataType() == org.nd4j.linalg.api.buffer.DataType.FLOAT;
  }

  private static double tanh(double v, boolean fast) {
    return fast ? FusedActivation.tanh((float) v) : Math.tanh(v);
  }

  private static double sigmoid(double v, boolean fast) {
    return fast ? 0.5 + 0.5 * FusedActivation.tanh((float) (0.5 * v)) : 1 / (1 + Math.exp(-v));
  }

  /**
   * The elements of {@code array} in row-major order. Float arrays on the fused path are copied
   * straight out of their buffer: the copy and conversion through ND4J, three ops for each of
   * the dozen arrays of a pass, were a sixth of the worker's time training
   * {@code examples/shared-decoder.json} (JFR).
   */
  private static double[] doubles(INDArray array) {
    float[] floats = Kernels.rowMajorFloats(array);
    if (floats == null) {
      return array.dup('c').data().asDouble();
    }
    double[] values = new double[floats.length];
    for (int i = 0; i < values.length; i++) {
      values[i] = floats[i];
    }
    return values;
  }

  /** {@code values} (row-major, {@code target}'s shape) into {@code target}. */
  private static void write(double[] values, INDArray target) {
    if (Kernels.isRowMajorFloats(target)) {
      float[] floats = new float[values.length];
      for (int i = 0; i < floats.length; i++) {
        floats[i] = (float) values[i];
      }
      Kernels.write(floats, target);
      return;
    }
    target.assign(Nd4j.create(values, target.shape(), 'c').castTo(target.dataType()));
  }
}
