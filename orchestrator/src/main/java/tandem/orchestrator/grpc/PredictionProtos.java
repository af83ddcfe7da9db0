package tandem.orchestrator.grpc;

import tandem.api.v1.OutputPrediction;
import tandem.api.v1.Prediction;
import tandem.model.bundle.TaskPredictor;
import tandem.model.kernel.Kernels;
import tandem.model.loss.Loss;

/** Maps an output's scores to the API's predictions, with each loss's label. Stateless. */
final class PredictionProtos {

  private PredictionProtos() {}

  static OutputPrediction output(TaskPredictor.OutputScores output) {
    OutputPrediction.Builder proto = OutputPrediction.newBuilder()
        .setOutput(output.output()).setLoss(output.loss().specName());
    float[][] scores = Kernels.rows(output.scores());
    for (float[] row : scores) {
      Prediction.Builder prediction = Prediction.newBuilder();
      for (float score : row) {
        prediction.addScores(score);
      }
      addLabel(output.loss(), row, prediction);
      proto.addRows(prediction);
    }
    return proto.build();
  }

  /** softmax: the argmax class; sigmoid: 0/1 per unit at 0.5; mse: the raw values. */
  static void addLabel(Loss loss, float[] scores, Prediction.Builder prediction) {
    switch (loss) {
      case SOFTMAX_CROSS_ENTROPY -> prediction.addLabel(Kernels.argMaxRows(scores, 1)[0]);
      case SIGMOID_CROSS_ENTROPY -> {
        for (float score : scores) {
          prediction.addLabel(score >= 0.5f ? 1 : 0);
        }
      }
      default -> {
        for (float score : scores) {
          prediction.addLabel(score);
        }
      }
    }
  }
}
