package tandem.model.eval;

/**
 * Chunk counts of one evaluation and the figures conlleval derives from them: a predicted chunk
 * is correct when a gold chunk has the same type, start and end. Precision, recall and F1 are
 * fractions in {@code [0, 1]} (conlleval prints them as percentages); each is 0 when its
 * denominator is. Immutable.
 *
 * @param gold chunks in the gold tags
 * @param predicted chunks in the predicted tags
 * @param correct predicted chunks that match a gold chunk exactly
 */
public record ChunkScore(long gold, long predicted, long correct) {

  public ChunkScore {
    if (gold < 0 || predicted < 0 || correct < 0 || correct > Math.min(gold, predicted)) {
      throw new IllegalArgumentException("expected 0 <= correct <= min(gold, predicted), found "
          + "gold " + gold + ", predicted " + predicted + ", correct " + correct);
    }
  }

  public double precision() {
    return predicted == 0 ? 0 : (double) correct / predicted;
  }

  public double recall() {
    return gold == 0 ? 0 : (double) correct / gold;
  }

  /** Harmonic mean of precision and recall ({@code 2PR / (P + R)}); 0 when both are 0. */
  public double f1() {
    double p = precision();
    double r = recall();
    return p + r == 0 ? 0 : 2 * p * r / (p + r);
  }

  /** The counts of this evaluation and {@code other} added (e.g. over several files). */
  public ChunkScore plus(ChunkScore other) {
    return new ChunkScore(gold + other.gold, predicted + other.predicted,
        correct + other.correct);
  }
}
