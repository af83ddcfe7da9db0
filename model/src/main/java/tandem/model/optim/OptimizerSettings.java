package tandem.model.optim;

import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * A job's optimizer, defaults filled in: {@code adam} (Kingma and Ba, 2015, "Adam: A Method for
 * Stochastic Optimization") or plain {@code sgd}. Immutable.
 *
 * @param perTaskSharedState shared modules keep one optimizer state per task (as with a separate
 *     TensorFlow optimizer per task) instead of one state per module
 */
public record OptimizerSettings(String name, double learningRate, double beta1, double beta2,
    double epsilon, boolean perTaskSharedState) {

  /** The same optimizer at another learning rate. */
  public OptimizerSettings withLearningRate(double rate) {
    return new OptimizerSettings(name, rate, beta1, beta2, epsilon, perTaskSharedState);
  }

  /** ND4J's configuration of this optimizer; each parameter block instantiates its own state. */
  public IUpdater toUpdater() {
    return switch (name) {
      case "adam" -> new Adam(learningRate, beta1, beta2, epsilon);
      case "sgd" -> new Sgd(learningRate);
      default -> throw new IllegalStateException("unknown optimizer '" + name + "'");
    };
  }
}
