package tandem.bench.conll;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.nd4j.linalg.api.buffer.DataType;
import tandem.model.data.DataSet;
import tandem.model.eval.ChunkDecoding;
import tandem.model.eval.ChunkScore;
import tandem.model.eval.ChunkScorer;
import tandem.model.spec.OutputGraph;
import tandem.model.spec.TaskGraph;
import tandem.model.spec.TrainingPlan;
import tandem.model.train.SequentialTraining;
import tandem.model.train.TaskProgram;

/**
 * Trains one compiled CoNLL-2000 variant on the single-thread reference loop
 * ({@link SequentialTraining}: the math of the actor path in sync mode with one worker and one
 * step in flight) with its tasks in strict alternation, as {@code round_robin} dispatches, until
 * the spec's {@code maxSteps} or {@code maxTime}; then scores it on its evaluation data: the
 * accuracy of the output labelled {@code pos} and the chunk counts of the output whose metric is
 * {@code chunk_f1}, both through {@link TaskProgram} as the job's evaluation event has them, and
 * the chunk counts of greedy per-token tags beside them.
 */
final class ConllTraining {

  private ConllTraining() {}

  /** Progress while training: the step reached and the figures on the evaluation data so far. */
  record Checkpoint(long step, Duration trainingTime, ConllResult result) {}

  /**
   * Trains {@code plan}; every {@code evaluateEvery} steps (0: never) scores the model so far and
   * hands it to {@code progress}, outside the timed loop.
   */
  static ConllResult train(String variant, TrainingPlan plan, long evaluateEvery,
      Consumer<Checkpoint> progress) {
    List<String> order = plan.graph().tasks().stream().map(TaskGraph::name).toList();
    SequentialTraining training = new SequentialTraining(plan, DataType.FLOAT);
    long deadline = plan.maxTime() == null ? Long.MAX_VALUE : plan.maxTime().toNanos();
    long examples = 0;
    long trained = 0;
    long step = 0;
    while (step < plan.maxSteps() && trained < deadline) {
      long start = System.nanoTime();
      examples += training.step(order.get((int) (step % order.size()))).examples();
      trained += System.nanoTime() - start;
      step++;
      if (evaluateEvery > 0 && step % evaluateEvery == 0 && step < plan.maxSteps()) {
        progress.accept(new Checkpoint(step, Duration.ofNanos(trained),
            score(variant, plan, training, step, examples, Duration.ofNanos(trained))));
      }
    }
    return score(variant, plan, training, step, examples, Duration.ofNanos(trained));
  }

  private static ConllResult score(String variant, TrainingPlan plan, SequentialTraining training,
      long steps, long examples, Duration time) {
    double posAccuracy = Double.NaN;
    ChunkScore chunk = null;
    ChunkScore greedyChunk = null;
    long evaluating = 0;
    for (TaskGraph task : plan.graph().tasks()) {
      long start = System.nanoTime();
      Map<String, Double> metrics = training.evaluate(task.name());
      evaluating += System.nanoTime() - start;
      for (OutputGraph output : task.outputs()) {
        if (output.metric().equals(ChunkScorer.METRIC)) {
          TaskProgram program = new TaskProgram(task, DataType.FLOAT);
          DataSet data = plan.evaluationData().get(task.name());
          chunk = program.chunkScore(training.parameters(), data, output.name(),
              ChunkDecoding.VITERBI);
          greedyChunk = program.chunkScore(training.parameters(), data, output.name(),
              ChunkDecoding.GREEDY);
          if (Math.abs(chunk.f1() - metrics.get(output.name())) > 1e-12) {
            throw new IllegalStateException("chunk F1 of the evaluation (" + metrics.get(
                output.name()) + ") differs from the chunk counts' (" + chunk.f1() + ")");
          }
        } else if (output.label().equals("pos")) {
          posAccuracy = metrics.get(output.name());
        }
      }
    }
    return new ConllResult(variant, steps, examples, time, posAccuracy, chunk, greedyChunk,
        Duration.ofNanos(evaluating));
  }
}
