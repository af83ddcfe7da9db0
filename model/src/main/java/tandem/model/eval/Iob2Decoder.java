package tandem.model.eval;

import java.util.List;

/**
 * Turns a tagger's per-token class scores into the best valid IOB2 tag sequence of each sentence:
 * Viterbi search over the tokens' log-probabilities where {@code I-X} may only follow {@code B-X}
 * or {@code I-X} (and may not open a sentence), every other transition free. A window tagger
 * decides each token alone, so its argmax tags may hold an {@code I-X} after {@code O} or after
 * another type, which conlleval counts as an extra chunk; the constraint is the hard-wired form of
 * the tag transition scores of Collobert et al. (2011, "Natural Language Processing (Almost) from
 * Scratch", section 3.4.2), which learn them. Immutable and thread-safe.
 */
public final class Iob2Decoder {

  private final int tags;
  /** allowed[from][to]: whether tag {@code to} may follow tag {@code from}. */
  private final boolean[][] allowed;
  private final boolean[] mayStart;

  /** A decoder over tag ids named by {@code tags} ({@code O}, {@code B-X}, {@code I-X}). */
  public Iob2Decoder(List<String> tags) {
    if (!ChunkScorer.isIob2(tags)) {
      throw new IllegalArgumentException("expected IOB2 chunk tags (O, B-X, I-X), found " + tags);
    }
    this.tags = tags.size();
    this.allowed = new boolean[this.tags][this.tags];
    this.mayStart = new boolean[this.tags];
    for (int to = 0; to < this.tags; to++) {
      String tag = tags.get(to);
      boolean inside = tag.startsWith("I-");
      mayStart[to] = !inside;
      for (int from = 0; from < this.tags; from++) {
        String previous = tags.get(from);
        allowed[from][to] = !inside || !previous.equals("O")
            && previous.substring(2).equals(tag.substring(2));
      }
    }
  }

  /**
   * The best allowed tags of one sentence: {@code logProbabilities} holds {@code tags} scores per
   * token, token after token, from index {@code from} for {@code length} tokens; the result goes
   * to {@code out[outFrom .. outFrom + length)}.
   */
  public void decodeInto(float[] logProbabilities, int from, int length, int[] out, int outFrom) {
    if (length == 0) {
      return;
    }
    double[] best = new double[tags];
    double[] next = new double[tags];
    int[][] back = new int[length][tags];
    for (int k = 0; k < tags; k++) {
      best[k] = mayStart[k] ? logProbabilities[from + k] : Double.NEGATIVE_INFINITY;
    }
    for (int t = 1; t < length; t++) {
      int row = from + t * tags;
      for (int k = 0; k < tags; k++) {
        double max = Double.NEGATIVE_INFINITY;
        int argMax = 0;
        for (int j = 0; j < tags; j++) {
          if (allowed[j][k] && best[j] > max) {
            max = best[j];
            argMax = j;
          }
        }
        next[k] = max + logProbabilities[row + k];
        back[t][k] = argMax;
      }
      double[] swap = best;
      best = next;
      next = swap;
    }
    int tag = 0;
    for (int k = 1; k < tags; k++) {
      if (best[k] > best[tag]) {
        tag = k;
      }
    }
    for (int t = length - 1; t >= 0; t--) {
      out[outFrom + t] = tag;
      tag = back[t][tag];
    }
  }
}
