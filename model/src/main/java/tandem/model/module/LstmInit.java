package tandem.model.module;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Initial LSTM biases shared by the recurrent modules. Stateless. */
final class LstmInit {

  private LstmInit() {}

  /**
   * Zero biases except the forget gate's (libnd4j's second block), set to 1 so that early in
   * training the cell keeps its state (Jozefowicz et al., "An Empirical Exploration of Recurrent
   * Network Architectures", ICML 2015).
   */
  static void biasInPlace(INDArray bias, int hiddenSize) {
    bias.assign(0);
    bias.get(NDArrayIndex.interval(hiddenSize, 2L * hiddenSize)).assign(1);
  }
}
