package tandem.model.loss;

import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.model.kernel.Kernels;

/**
 * The fused twins of ND4J's {@code LossMCXENT} with softmax and {@code LossMSE}: score and
 * gradient in one pass over column-major heap copies of {@code [batch, width]} logits and labels,
 * instead of a dozen ND4J ops (activation, clip, log, multiply, sums, subtraction, division).
 * Work arrays are per thread. Checked against ND4J in {@code LossTest}.
 */
final class FusedLosses {

  /** ND4J's {@code LossMCXENT} clips softmax probabilities below this before the log. */
  private static final double LOG_CLIP = Math.log(1e-10);

  private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

  private FusedLosses() {}

  private static final class Scratch {
    float[] logits;
    float[] labels;
    float[] transposed;
    float[] rowMax;
    float[] rowSum;

    /** This thread's scratch, holding column-major copies of the logits and labels. */
    static Scratch load(INDArray labels, INDArray logits) {
      int rows = (int) logits.size(0);
      Scratch s = SCRATCH.get();
      s.ensure((int) logits.length(), rows);
      Kernels.readColumnMajor(logits, s.logits, s.transposed);
      Kernels.readColumnMajor(labels, s.labels, s.transposed);
      return s;
    }

    void ensure(int length, int rows) {
      logits = Kernels.ensure(logits, length);
      labels = Kernels.ensure(labels, length);
      transposed = Kernels.ensure(transposed, length);
      rowMax = Kernels.ensure(rowMax, rows);
      rowSum = Kernels.ensure(rowSum, rows);
    }
  }

  /**
   * Mean over rows of {@code -sum(labels * log softmax(logits))}; {@code gradient} gets
   * {@code weight * (softmax - labels) / rows}, column-major or row-major as the array is.
   */
  static double softmaxCrossEntropy(INDArray labelArray, INDArray logitArray, float weight,
      INDArray gradient) {
    int rows = (int) logitArray.size(0);
    int width = (int) logitArray.size(1);
    Scratch s = Scratch.load(labelArray, logitArray);
    float[] z = s.logits;
    float[] y = s.labels;
    float[] max = s.rowMax;
    float[] sum = s.rowSum;
    java.util.Arrays.fill(max, 0, rows, Float.NEGATIVE_INFINITY);
    java.util.Arrays.fill(sum, 0, rows, 0f);
    for (int j = 0; j < width; j++) {
      int base = j * rows;
      for (int r = 0; r < rows; r++) {
        max[r] = Math.max(max[r], z[base + r]);
      }
    }
    // z becomes exp(z - max), the unnormalised softmax.
    for (int j = 0; j < width; j++) {
      int base = j * rows;
      for (int r = 0; r < rows; r++) {
        float e = (float) Math.exp(z[base + r] - max[r]);
        z[base + r] = e;
        sum[r] += e;
      }
    }
    double loss = 0;
    float scale = weight / rows;
    for (int j = 0; j < width; j++) {
      int base = j * rows;
      for (int r = 0; r < rows; r++) {
        float label = y[base + r];
        float p = z[base + r] / sum[r];
        if (label != 0f) {
          loss -= label * Math.max(Math.log(p), LOG_CLIP);
        }
        z[base + r] = (p - label) * scale;
      }
    }
    writeColumnMajor(z, gradient, s.transposed, rows, width);
    return loss / rows;
  }

  /**
   * Mean over rows of {@code sum((logits - labels)^2) / width}; {@code gradient} gets
   * {@code weight * 2 (logits - labels) / (width * rows)}.
   */
  static double meanSquaredError(INDArray labelArray, INDArray logitArray, float weight,
      INDArray gradient) {
    int rows = (int) logitArray.size(0);
    int width = (int) logitArray.size(1);
    Scratch s = Scratch.load(labelArray, logitArray);
    float[] z = s.logits;
    float[] y = s.labels;
    double loss = 0;
    float scale = 2f * weight / ((float) width * rows);
    int length = rows * width;
    for (int i = 0; i < length; i++) {
      float d = z[i] - y[i];
      loss += d * d;
      z[i] = d * scale;
    }
    writeColumnMajor(z, gradient, s.transposed, rows, width);
    return loss / width / rows;
  }

  /**
   * {@link SequenceCrossEntropy} in one pass: {@code labels [batch, steps]} token ids (0:
   * padding), {@code logits [batch, steps x vocabulary]}, time-major within a row. Sum over the
   * non-padding steps of {@code -log softmax(logits)[id]}, averaged over examples; {@code gradient}
   * gets {@code weight * (softmax - onehot) / batch} on those steps and 0 on padding. On ND4J's
   * ops each step built one-hot and mask arrays and ran {@code LossMCXENT}: about a tenth of
   * {@code examples/shared-decoder.json}'s worker time (JFR).
   */
  static double sequenceCrossEntropy(INDArray labelArray, INDArray logitArray, float weight,
      INDArray gradient) {
    int batch = (int) labelArray.size(0);
    int steps = (int) labelArray.size(1);
    int vocabulary = (int) (logitArray.size(1) / steps);
    int rows = batch * steps;
    Scratch s = SCRATCH.get();
    s.ensure((int) logitArray.length(), rows);
    float[] z = s.logits;
    float[] ids = s.labels;
    Kernels.readRowMajor(logitArray, z, s.transposed);
    Kernels.readRowMajor(labelArray, ids, s.transposed);
    double loss = 0;
    float scale = weight / batch;
    for (int r = 0; r < rows; r++) {
      int id = (int) ids[r];
      if (id < 0 || id >= vocabulary) {
        throw new IllegalArgumentException("example " + r / steps + ", step " + r % steps
            + ": label id " + id + " outside the vocabulary [0, " + vocabulary + ")");
      }
      int base = r * vocabulary;
      if (id == 0) {
        java.util.Arrays.fill(z, base, base + vocabulary, 0f);
        continue;
      }
      float max = Float.NEGATIVE_INFINITY;
      for (int v = base; v < base + vocabulary; v++) {
        max = Math.max(max, z[v]);
      }
      float sum = 0f;
      for (int v = base; v < base + vocabulary; v++) {
        float e = (float) Math.exp(z[v] - max);
        z[v] = e;
        sum += e;
      }
      for (int v = base; v < base + vocabulary; v++) {
        float p = z[v] / sum;
        if (v - base == id) {
          loss -= Math.max(Math.log(p), LOG_CLIP);
          p -= 1f;
        }
        z[v] = p * scale;
      }
    }
    if (gradient.ordering() == 'c' || batch == 1) {
      Kernels.write(z, gradient);
    } else {
      // Row-major [batch, width] is column-major [width, batch].
      Kernels.transpose(z, batch, steps * vocabulary, s.transposed);
      Kernels.write(s.transposed, gradient);
    }
    return loss / batch;
  }

  /** ND4J's {@code LossBinaryXENT} clips sigmoid outputs to [eps, 1 - eps] before the log. */
  private static final float BINARY_CLIP = 1e-5f;

  /**
   * Mean over rows of {@code -sum(y log s + (1 - y) log(1 - s))}, s the sigmoid of the logits
   * clipped to [1e-5, 1 - 1e-5]; {@code gradient} gets {@code weight / rows} times ND4J's
   * gradient, {@code (c - y) / (c (1 - c)) * s (1 - s)} with c the clipped s (so {@code s - y}
   * where nothing is clipped).
   */
  static double sigmoidCrossEntropy(INDArray labelArray, INDArray logitArray, float weight,
      INDArray gradient) {
    int rows = (int) logitArray.size(0);
    int width = (int) logitArray.size(1);
    Scratch s = Scratch.load(labelArray, logitArray);
    float[] z = s.logits;
    float[] y = s.labels;
    double loss = 0;
    float scale = weight / rows;
    int length = rows * width;
    for (int i = 0; i < length; i++) {
      float sigmoid = (float) (1.0 / (1.0 + Math.exp(-z[i])));
      float clipped = Math.min(Math.max(sigmoid, BINARY_CLIP), 1f - BINARY_CLIP);
      float label = y[i];
      loss -= label * Math.log(clipped) + (1f - label) * Math.log(1f - clipped);
      z[i] = (clipped - label) / (clipped * (1f - clipped)) * (sigmoid * (1f - sigmoid)) * scale;
    }
    writeColumnMajor(z, gradient, s.transposed, rows, width);
    return loss / rows;
  }

  private static void writeColumnMajor(float[] values, INDArray array, float[] scratch, int rows,
      int width) {
    if (array.ordering() == 'f' || rows == 1 || width == 1) {
      Kernels.write(values, array);
      return;
    }
    // Column-major [rows, width] is row-major [width, rows].
    Kernels.transpose(values, width, rows, scratch);
    Kernels.write(scratch, array);
  }
}
