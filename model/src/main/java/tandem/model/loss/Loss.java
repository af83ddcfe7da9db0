package tandem.model.loss;

import java.util.List;
import java.util.Optional;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossBinaryXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMSE;
import tandem.model.kernel.Kernels;

/**
 * A loss on an output module's pre-activation ("logits"), with the output activation it implies,
 * taken from ND4J's {@link ILossFunction}s. Scores are means over the batch and gradients are of
 * that mean, so a step's gradient does not grow with the batch size. Immutable and thread-safe.
 */
public enum Loss {
  /** Softmax over classes, then cross-entropy against one-hot labels (a class field). */
  SOFTMAX_CROSS_ENTROPY("softmax_cross_entropy", new LossMCXENT(), new ActivationSoftmax(),
      "accuracy", true),
  /** Sigmoid per unit, then binary cross-entropy against 0/1 targets (a float field). */
  SIGMOID_CROSS_ENTROPY("sigmoid_cross_entropy", new LossBinaryXENT(), new ActivationSigmoid(),
      "accuracy", false),
  /** Mean squared error against float targets, no output activation. */
  MSE("mse", new LossMSE(), new ActivationIdentity(), "mse", false),
  /**
   * Softmax cross-entropy per time step against a sequence field of token ids, padding (id 0)
   * masked, summed over steps and averaged over examples ({@link SequenceCrossEntropy}).
   */
  SEQUENCE_SOFTMAX_CROSS_ENTROPY("sequence_softmax_cross_entropy", new LossMCXENT(),
      new ActivationSoftmax(), "exact_match", false);

  private final String specName;
  private final ILossFunction function;
  private final IActivation activation;
  private final String metric;
  private final boolean classLabels;

  Loss(String specName, ILossFunction function, IActivation activation, String metric,
      boolean classLabels) {
    this.specName = specName;
    this.function = function;
    this.activation = activation;
    this.metric = metric;
    this.classLabels = classLabels;
  }

  /** The loss a spec names, e.g. {@code softmax_cross_entropy}. */
  public static Optional<Loss> named(String name) {
    for (Loss loss : values()) {
      if (loss.specName.equals(name)) {
        return Optional.of(loss);
      }
    }
    return Optional.empty();
  }

  /** Every name a spec may use, for error messages. */
  public static List<String> names() {
    return java.util.Arrays.stream(values()).map(Loss::specName).toList();
  }

  public String specName() {
    return specName;
  }

  /** Whether the labels are a class field (one-hot in batches) rather than a float field. */
  public boolean takesClassLabels() {
    return classLabels;
  }

  /** Whether the labels are a sequence field of token ids (one per time step). */
  public boolean takesSequenceLabels() {
    return this == SEQUENCE_SOFTMAX_CROSS_ENTROPY;
  }

  /** Name of the evaluation metric: {@code accuracy}, {@code mse} or {@code exact_match}. */
  public String metric() {
    return metric;
  }

  /** Mean loss over the batch of {@code logits} ({@code [batch, width]}) against labels. */
  public double score(INDArray labels, INDArray logits) {
    if (takesSequenceLabels()) {
      return SequenceCrossEntropy.score(labels, logits);
    }
    return function.computeScore(labels, ownInput(logits), activation, null, true);
  }

  /**
   * Mean loss over the batch, like {@link #score}, and {@code weight} times dMeanLoss/dLogits
   * written into {@code gradient} (shaped like {@code logits}): one pass on the fused path
   * ({@link FusedLosses}) for softmax and sigmoid cross-entropy and MSE, {@link #score} and
   * {@link #gradient} otherwise (sequence losses, the ND4J path).
   */
  public double scoreAndGradient(INDArray labels, INDArray logits, double weight,
      INDArray gradient) {
    if (this != SEQUENCE_SOFTMAX_CROSS_ENTROPY && Kernels.fused(labels, logits, gradient)
        && java.util.Arrays.equals(labels.shape(), logits.shape())
        && java.util.Arrays.equals(gradient.shape(), logits.shape())) {
      float w = (float) weight;
      return switch (this) {
        case SOFTMAX_CROSS_ENTROPY -> FusedLosses.softmaxCrossEntropy(labels, logits, w, gradient);
        case SIGMOID_CROSS_ENTROPY -> FusedLosses.sigmoidCrossEntropy(labels, logits, w, gradient);
        case MSE -> FusedLosses.meanSquaredError(labels, logits, w, gradient);
        default -> throw new AssertionError(this);
      };
    }
    if (this == SEQUENCE_SOFTMAX_CROSS_ENTROPY && Kernels.fused(labels, logits, gradient)
        && labels.size(0) == logits.size(0) && logits.size(1) % labels.size(1) == 0
        && java.util.Arrays.equals(gradient.shape(), logits.shape())) {
      return FusedLosses.sequenceCrossEntropy(labels, logits, (float) weight, gradient);
    }
    double score = score(labels, logits);
    INDArray epsilon = gradient(labels, logits);
    if (weight != 1.0) {
      epsilon.muli(weight);
    }
    gradient.assign(epsilon);
    return score;
  }

  /**
   * What a prediction reports for {@code logits}: class probabilities (softmax), unit
   * probabilities (sigmoid) or the raw values (mse); a new array.
   */
  public INDArray scores(INDArray logits) {
    return activation.getActivation(logits.dup(), false);
  }

  /** dMeanLoss/dLogits, a new array shaped like {@code logits}. */
  public INDArray gradient(INDArray labels, INDArray logits) {
    if (takesSequenceLabels()) {
      return SequenceCrossEntropy.gradient(labels, logits);
    }
    INDArray perExample = function.computeGradient(labels, ownInput(logits), activation, null);
    return perExample.divi(logits.size(0));
  }

  /**
   * What to hand ND4J's loss function: most apply their activation to a copy, so the logits go
   * as they are; binary cross-entropy's sigmoid path works in place, so it gets a copy (LossTest
   * and the gradient checks fail if a loss changes the caller's logits).
   */
  private INDArray ownInput(INDArray logits) {
    return this == SIGMOID_CROSS_ENTROPY ? logits.dup() : logits;
  }

  /**
   * The metric summed over the batch: correct examples for {@code accuracy} (softmax: argmax
   * matches the label; sigmoid: every unit on the right side of 0.5), squared error per example
   * averaged over units for {@code mse}, sequences with every non-padding token right for
   * {@code exact_match}. Divide by the examples seen for the mean.
   */
  public double metricSum(INDArray labels, INDArray logits) {
    if (this != SEQUENCE_SOFTMAX_CROSS_ENTROPY && logits.rank() == 2
        && java.util.Arrays.equals(labels.shape(), logits.shape())
        && Kernels.fused(labels, logits)) {
      return fusedMetricSum(labels, logits);
    }
    int rows = (int) logits.size(0);
    switch (this) {
      case SOFTMAX_CROSS_ENTROPY -> {
        INDArray predicted = logits.argMax(1);
        INDArray expected = labels.argMax(1);
        return predicted.eq(expected).castTo(org.nd4j.linalg.api.buffer.DataType.INT32)
            .sumNumber().doubleValue();
      }
      case SIGMOID_CROSS_ENTROPY -> {
        INDArray predicted = logits.gt(0.0);
        INDArray expected = labels.gt(0.5);
        double correct = 0;
        for (int i = 0; i < rows; i++) {
          if (predicted.getRow(i).equals(expected.getRow(i))) {
            correct++;
          }
        }
        return correct;
      }
      case MSE -> {
        INDArray diff = logits.sub(labels);
        return diff.muli(diff).sumNumber().doubleValue() / logits.size(1);
      }
      case SEQUENCE_SOFTMAX_CROSS_ENTROPY -> {
        return SequenceCrossEntropy.exactMatches(labels, logits);
      }
      default -> throw new AssertionError(this);
    }
  }

  /**
   * {@link #metricSum} on heap copies, with the ND4J path's rules (the first largest logit is
   * the prediction; a sigmoid unit is on when its logit is above 0 and its label above 0.5): the
   * ND4J ops cost 0.1 ms (MSE) to 17 ms (sigmoid, two ops a row) for a batch of 256 rows of 10,
   * most of an evaluation's time. The squared errors are summed in double.
   */
  private double fusedMetricSum(INDArray labels, INDArray logits) {
    int rows = (int) logits.size(0);
    int columns = (int) logits.size(1);
    float[] y = Kernels.rowMajor(labels);
    float[] z = Kernels.rowMajor(logits);
    if (this == SOFTMAX_CROSS_ENTROPY) {
      int[] predicted = Kernels.argMaxRows(z, rows);
      int[] expected = Kernels.argMaxRows(y, rows);
      int correct = 0;
      for (int r = 0; r < rows; r++) {
        correct += predicted[r] == expected[r] ? 1 : 0;
      }
      return correct;
    }
    double sum = 0;
    for (int r = 0; r < rows; r++) {
      int base = r * columns;
      switch (this) {
        case SIGMOID_CROSS_ENTROPY -> {
          boolean right = true;
          for (int c = base; c < base + columns && right; c++) {
            right = (z[c] > 0f) == (y[c] > 0.5f);
          }
          sum += right ? 1 : 0;
        }
        case MSE -> {
          for (int c = base; c < base + columns; c++) {
            double d = (double) z[c] - y[c];
            sum += d * d;
          }
        }
        default -> throw new AssertionError(this);
      }
    }
    return this == MSE ? sum / columns : sum;
  }
}
