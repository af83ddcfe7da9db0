package tandem.model.optim;

import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.schedule.ExponentialSchedule;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.linalg.schedule.ScheduleType;

/**
 * A job's optimizer, defaults filled in: {@code adam} (Kingma and Ba, 2015, "Adam: A Method for
 * Stochastic Optimization") or plain {@code sgd}. Immutable.
 *
 * @param perTaskSharedState shared modules keep one optimizer state per task (as with a separate
 *     TensorFlow optimizer per task) instead of one state per module
 * @param halfLife updates of a parameter block after which its learning rate has halved
 *     (exponential decay); 0 for a constant rate
 * @param lazyEmbeddingUpdates embedding tables update only the rows whose gradient is non-zero
 *     (the ids of the batch), as TensorFlow's LazyAdam, instead of every row
 */
public record OptimizerSettings(String name, double learningRate, double beta1, double beta2,
    double epsilon, boolean perTaskSharedState, long halfLife, boolean lazyEmbeddingUpdates) {

  public OptimizerSettings {
    if (halfLife < 0) {
      throw new IllegalArgumentException("expected a half-life >= 0, found " + halfLife);
    }
  }

  /** An optimizer with dense embedding updates. */
  public OptimizerSettings(String name, double learningRate, double beta1, double beta2,
      double epsilon, boolean perTaskSharedState, long halfLife) {
    this(name, learningRate, beta1, beta2, epsilon, perTaskSharedState, halfLife, false);
  }

  /** An optimizer with a constant learning rate. */
  public OptimizerSettings(String name, double learningRate, double beta1, double beta2,
      double epsilon, boolean perTaskSharedState) {
    this(name, learningRate, beta1, beta2, epsilon, perTaskSharedState, 0);
  }

  /** The same optimizer at another (initial) learning rate. */
  public OptimizerSettings withLearningRate(double rate) {
    return new OptimizerSettings(name, rate, beta1, beta2, epsilon, perTaskSharedState, halfLife,
        lazyEmbeddingUpdates);
  }

  /** The learning rate of a block's update number {@code iteration} (from 0). */
  public double learningRate(long iteration) {
    return halfLife == 0 ? learningRate
        : learningRate * Math.pow(0.5, (double) iteration / halfLife);
  }

  /** ND4J's configuration of this optimizer; each parameter block instantiates its own state. */
  public IUpdater toUpdater() {
    ISchedule schedule = new ExponentialSchedule(ScheduleType.ITERATION, learningRate,
        halfLife == 0 ? 1 : Math.pow(0.5, 1.0 / halfLife));
    return switch (name) {
      case "adam" -> halfLife == 0 ? new Adam(learningRate, beta1, beta2, epsilon)
          : Adam.builder().learningRateSchedule(schedule).beta1(beta1).beta2(beta2)
              .epsilon(epsilon).build();
      case "sgd" -> halfLife == 0 ? new Sgd(learningRate) : new Sgd(schedule);
      default -> throw new IllegalStateException("unknown optimizer '" + name + "'");
    };
  }
}
