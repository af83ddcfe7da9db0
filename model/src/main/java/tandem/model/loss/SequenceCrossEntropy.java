package tandem.model.loss;

import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;

/**
 * Softmax cross-entropy at every time step of a sequence, padded steps masked out: logits
 * {@code [batch, steps x vocabulary]} (time-major within a row, as a sequence decoder writes them)
 * against labels {@code [batch, steps]} of token ids held as floats, id 0 being padding. Summed
 * over steps and averaged over examples, so a long sequence weighs more than a short one, as in
 * per-token training. Built on ND4J's {@link LossMCXENT} with a per-row mask. Stateless.
 */
final class SequenceCrossEntropy {

  private static final LossMCXENT FUNCTION = new LossMCXENT();
  private static final int PADDING = 0;

  private SequenceCrossEntropy() {}

  static double score(INDArray labels, INDArray logits) {
    Rows rows = rows(labels, logits);
    double sum = FUNCTION.computeScore(rows.oneHot, rows.logits, new ActivationSoftmax(),
        rows.mask, false);
    return sum / labels.size(0);
  }

  static INDArray gradient(INDArray labels, INDArray logits) {
    Rows rows = rows(labels, logits);
    INDArray perRow = FUNCTION.computeGradient(rows.oneHot, rows.logits, new ActivationSoftmax(),
        rows.mask);
    return perRow.muli(rows.mask).divi(labels.size(0)).reshape('c', logits.shape());
  }

  /** Examples whose every non-padding step has its label as the arg-max of its logits. */
  static double exactMatches(INDArray labels, INDArray logits) {
    int batch = (int) labels.size(0);
    int steps = (int) labels.size(1);
    int vocabulary = (int) (logits.size(1) / steps);
    int[] predicted = logits.dup('c').reshape('c', (long) batch * steps, vocabulary).argMax(1)
        .toIntVector();
    double[] expected = labels.dup('c').reshape((long) batch * steps).toDoubleVector();
    int matches = 0;
    for (int i = 0; i < batch; i++) {
      boolean match = true;
      for (int t = 0; t < steps && match; t++) {
        int id = (int) expected[i * steps + t];
        match = id == PADDING || predicted[i * steps + t] == id;
      }
      matches += match ? 1 : 0;
    }
    return matches;
  }

  /** One row per (example, step): one-hot labels, a view of the logits, and the padding mask. */
  private record Rows(INDArray oneHot, INDArray logits, INDArray mask) {}

  private static Rows rows(INDArray labels, INDArray logits) {
    long batch = labels.size(0);
    long steps = labels.size(1);
    if (logits.size(0) != batch || logits.size(1) % steps != 0) {
      throw new IllegalArgumentException("expected logits [" + batch + ", " + steps
          + " x vocabulary], found " + java.util.Arrays.toString(logits.shape()));
    }
    long vocabulary = logits.size(1) / steps;
    double[] ids = labels.dup('c').reshape(batch * steps).toDoubleVector();
    double[] oneHot = new double[(int) (batch * steps * vocabulary)];
    double[] mask = new double[ids.length];
    for (int r = 0; r < ids.length; r++) {
      int id = (int) ids[r];
      if (id < 0 || id >= vocabulary) {
        throw new IllegalArgumentException("example " + r / steps + ", step " + r % steps
            + ": label id " + id + " outside the vocabulary [0, " + vocabulary + ")");
      }
      oneHot[(int) (r * vocabulary + id)] = 1;
      mask[r] = id == PADDING ? 0 : 1;
    }
    // ND4J's activations work in place; the caller's logits stay untouched.
    INDArray logitRows = logits.dup('c').reshape('c', batch * steps, vocabulary);
    return new Rows(
        Nd4j.create(oneHot, new long[] {batch * steps, vocabulary}, 'c').castTo(logits.dataType()),
        logitRows,
        Nd4j.create(mask, new long[] {batch * steps, 1}, 'c').castTo(logits.dataType()));
  }
}
