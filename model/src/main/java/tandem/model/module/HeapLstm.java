package tandem.model.module;

import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.model.kernel.Kernels;

/**
 * {@link LstmLayerOp}'s layer on heap arrays, in double precision, with {@code cblas_dgemm} for
 * the products, where ND4J 1.0.0-M2.1's native ops leak native memory (measured with a full GC
 * between calls; batch 32, 12 steps, 64 units): the backward pass ({@code lstmLayer_bp}, about
 * 1 MB a call whatever its arguments, which took a server training {@code shared-decoder} to
 * JavaCPP's 8 GB limit in four minutes) and the forward pass with sequence lengths or the last
 * state ({@code lstmLayer}, about 80 KB a call; the full sequence without lengths does not leak
 * and stays native). The backward pass runs the forward recurrence again to have the gates.
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
   * Same contract as {@link LstmLayerOp#backward} (without its {@code dLengths}): overwrites
   * {@code dx} ([batch, time, in]), {@code dwx}, {@code dwr} and {@code db}.
   */
  static void backward(INDArray x, INDArray wx, INDArray wr, INDArray b, INDArray lengths,
      INDArray dh, INDArray dLastH, INDArray dx, INDArray dwx, INDArray dwr, INDArray db) {
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
    Recurrence run = recurrence(xs, wxs, wrs, bs, length, batch, time, in, hidden);
    double[][] act = run.gates();
    double[][] cells = run.cells();
    double[][] outs = run.outputs();
    double[] xt = new double[batch * in];
    // Backward through time.
    double[] dxs = new double[batch * time * in];
    double[] dwxs = new double[in * gates];
    double[] dwrs = new double[hidden * gates];
    double[] dbs = new double[gates];
    double[] dhNext = new double[batch * hidden];
    double[] dcNext = new double[batch * hidden];
    double[] dz = new double[batch * gates];
    double[] dxt = new double[batch * in];
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
          double tc = Math.tanh(cells[t + 1][cell]);
          double dc = dht * o * (1 - tc * tc) + dcNext[cell];
          dz[row + k] = dc * g * i * (1 - i);
          dz[row + hidden + k] = dc * cells[t][cell] * f * (1 - f);
          dz[row + 2 * hidden + k] = dc * i * (1 - g * g);
          dz[row + 3 * hidden + k] = dht * tc * o * (1 - o);
          dcNext[cell] = dc * f;
        }
      }
      step(xs, t, time, in, xt, batch);
      gemm(true, false, in, gates, batch, xt, dz, 1, dwxs);
      gemm(true, false, hidden, gates, batch, outs[t], dz, 1, dwrs);
      for (int r = 0; r < batch; r++) {
        for (int j = 0; j < gates; j++) {
          dbs[j] += dz[r * gates + j];
        }
      }
      gemm(false, true, batch, in, gates, dz, wxs, 0, dxt);
      for (int r = 0; r < batch; r++) {
        System.arraycopy(dxt, r * in, dxs, (r * time + t) * in, in);
      }
      gemm(false, true, batch, hidden, gates, dz, wrs, 0, dhNext);
    }
    write(dxs, dx);
    write(dwxs, dwx);
    write(dwrs, dwr);
    write(dbs, db);
  }

  /** Activated gates ([batch, 4h] per step), cell states and outputs ([batch, h], step 0 zeros). */
  private record Recurrence(double[][] gates, double[][] cells, double[][] outputs) {}

  private static Recurrence recurrence(double[] xs, double[] wxs, double[] wrs, double[] bs,
      int[] length, int batch, int time, int in, int hidden) {
    double[][] act = new double[time][];
    double[][] cells = new double[time + 1][];
    double[][] outs = new double[time + 1][];
    cells[0] = new double[batch * hidden];
    outs[0] = new double[batch * hidden];
    double[] xt = new double[batch * in];
    int gates = 4 * hidden;
    for (int t = 0; t < time; t++) {
      step(xs, t, time, in, xt, batch);
      double[] z = new double[batch * gates];
      for (int r = 0; r < batch; r++) {
        System.arraycopy(bs, 0, z, r * gates, gates);
      }
      gemm(false, false, batch, gates, in, xt, wxs, 1, z);
      gemm(false, false, batch, gates, hidden, outs[t], wrs, 1, z);
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
          double i = sigmoid(z[row + k]);
          double f = sigmoid(z[row + hidden + k]);
          double g = Math.tanh(z[row + 2 * hidden + k]);
          double o = sigmoid(z[row + 3 * hidden + k]);
          z[row + k] = i;
          z[row + hidden + k] = f;
          z[row + 2 * hidden + k] = g;
          z[row + 3 * hidden + k] = o;
          c[cell] = f * cells[t][cell] + i * g;
          h[cell] = o * Math.tanh(c[cell]);
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
    int batch = (int) x.size(0);
    int time = (int) x.size(1);
    int in = (int) x.size(2);
    int hidden = (int) wr.size(0);
    int[] length = lengths(lengths, batch, time);
    Recurrence run = recurrence(doubles(x), doubles(wx), doubles(wr), doubles(b), length, batch,
        time, in, hidden);
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

  /** Rows {@code x[:, t, :]} into {@code xt} ([batch, in], row-major). */
  private static void step(double[] xs, int t, int time, int in, double[] xt, int batch) {
    for (int r = 0; r < batch; r++) {
      System.arraycopy(xs, (r * time + t) * in, xt, r * in, in);
    }
  }

  /** {@code c = op(a) op(b) + beta c}, row-major, {@code op(a)} [m, k], {@code op(b)} [k, n]. */
  private static void gemm(boolean transposeA, boolean transposeB, int m, int n, int k,
      double[] a, double[] b, double beta, double[] c) {
    openblas.cblas_dgemm(openblas.CblasRowMajor,
        transposeA ? openblas.CblasTrans : openblas.CblasNoTrans,
        transposeB ? openblas.CblasTrans : openblas.CblasNoTrans, m, n, k, 1.0,
        a, transposeA ? m : k, b, transposeB ? k : n, beta, c, n);
  }

  private static double sigmoid(double v) {
    return 1 / (1 + Math.exp(-v));
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
