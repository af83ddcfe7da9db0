package tandem.bench.conll;

import com.google.gson.JsonObject;
import java.time.Duration;
import tandem.model.eval.ChunkScore;

/**
 * The figures of one trained CoNLL-2000 variant on the test file. Immutable.
 *
 * @param variant the example's name, e.g. {@code conll2000-joint}
 * @param steps steps trained, over all tasks
 * @param examples training examples (tokens) seen, over all tasks; a joint step counts its
 *     tokens once although it trains both heads on them
 * @param trainingTime the step loop alone: compiling the spec, loading data and evaluating are
 *     outside it
 * @param posAccuracy per-token POS accuracy on the test file, or NaN when the variant has no
 *     POS output
 * @param chunk chunk counts on the test file with each sentence's best valid IOB2 tags (the
 *     {@code chunk_f1} metric of the job's evaluation), or {@code null} when it has no chunk
 *     output
 * @param greedyChunk chunk counts of each token's highest-scoring tag on its own, or {@code null}
 * @param evaluationTime the job's evaluation of every task on the test file, as a job's final
 *     evaluation runs it ({@code SequentialTraining.evaluate}: forward passes, metrics, Viterbi
 *     decoding of the chunk tags)
 */
public record ConllResult(String variant, long steps, long examples, Duration trainingTime,
    double posAccuracy, ChunkScore chunk, ChunkScore greedyChunk, Duration evaluationTime) {

  public double examplesPerSecond() {
    return examples / (trainingTime.toNanos() / 1e9);
  }

  public boolean hasPos() {
    return !Double.isNaN(posAccuracy);
  }

  public boolean hasChunk() {
    return chunk != null;
  }

  JsonObject toJson() {
    JsonObject json = new JsonObject();
    json.addProperty("variant", variant);
    json.addProperty("steps", steps);
    json.addProperty("examples", examples);
    json.addProperty("trainingSeconds", trainingTime.toNanos() / 1e9);
    json.addProperty("examplesPerSecond", examplesPerSecond());
    json.addProperty("evaluationSeconds", evaluationTime.toNanos() / 1e9);
    if (hasPos()) {
      json.addProperty("posAccuracy", posAccuracy);
    }
    if (hasChunk()) {
      json.addProperty("chunkF1", chunk.f1());
      json.addProperty("chunkPrecision", chunk.precision());
      json.addProperty("chunkRecall", chunk.recall());
      json.addProperty("goldChunks", chunk.gold());
      json.addProperty("predictedChunks", chunk.predicted());
      json.addProperty("correctChunks", chunk.correct());
      json.addProperty("greedyChunkF1", greedyChunk.f1());
      json.addProperty("greedyChunkPrecision", greedyChunk.precision());
      json.addProperty("greedyChunkRecall", greedyChunk.recall());
    }
    return json;
  }
}
