package tandem.model.eval;

/** How a tagger's per-token scores become the chunk tags that are scored. */
public enum ChunkDecoding {
  /** Each token's highest-scoring tag, on its own (a window tagger's raw output). */
  GREEDY,
  /** The best valid IOB2 sequence of each sentence ({@link Iob2Decoder}). */
  VITERBI
}
