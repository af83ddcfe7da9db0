package tandem.model.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class Iob2DecoderTest {

  private static final List<String> TAGS = List.of("B-NP", "I-NP", "B-VP", "I-VP", "O");
  private static final Iob2Decoder DECODER = new Iob2Decoder(TAGS);

  /** Log-probabilities of one sentence, one row of TAGS-ordered probabilities per token. */
  private static float[] logs(double[]... rows) {
    float[] out = new float[rows.length * TAGS.size()];
    for (int t = 0; t < rows.length; t++) {
      for (int k = 0; k < TAGS.size(); k++) {
        out[t * TAGS.size() + k] = (float) Math.log(rows[t][k]);
      }
    }
    return out;
  }

  private static int[] decode(float[] scores, int tokens) {
    int[] out = new int[tokens];
    DECODER.decodeInto(scores, 0, tokens, out, 0);
    return out;
  }

  private static int[] ids(String... tags) {
    return java.util.Arrays.stream(tags).mapToInt(TAGS::indexOf).toArray();
  }

  @Test
  void anITagAfterOBecomesTheBestAllowedPath() {
    // Argmax per token: O, I-NP (not allowed). B-NP I-NP scores 0.4 x 0.9; O O only 0.6 x 0.05.
    float[] scores = logs(new double[] {0.4, 0.0001, 0.0001, 0.0001, 0.6},
        new double[] {0.05, 0.9, 0.0001, 0.0001, 0.05});
    assertArrayEquals(ids("B-NP", "I-NP"), decode(scores, 2));
  }

  @Test
  void aSentenceNeverStartsWithAnITag() {
    float[] scores = logs(new double[] {0.2, 0.7, 0.0001, 0.0001, 0.1});
    assertArrayEquals(ids("B-NP"), decode(scores, 1));
  }

  @Test
  void anITagOfAnotherTypeMayNotContinueAChunk() {
    // B-NP then I-VP is not allowed; B-NP B-VP (0.9 x 0.3) beats B-NP I-NP (0.9 x 0.1).
    float[] scores = logs(new double[] {0.9, 0.025, 0.025, 0.025, 0.025},
        new double[] {0.05, 0.1, 0.3, 0.5, 0.05});
    assertArrayEquals(ids("B-NP", "B-VP"), decode(scores, 2));
  }

  @Test
  void validArgmaxTagsAreKeptAndOffsetsAreHonoured() {
    float[] scores = logs(new double[] {0.1, 0.1, 0.1, 0.1, 0.6},
        new double[] {0.7, 0.1, 0.1, 0.05, 0.05},
        new double[] {0.1, 0.6, 0.1, 0.1, 0.1},
        new double[] {0.1, 0.1, 0.6, 0.1, 0.1});
    int[] out = new int[5];
    // Tokens 1..3 of the rows, written from out[2].
    DECODER.decodeInto(scores, TAGS.size(), 3, out, 2);
    assertArrayEquals(new int[] {0, 0, 0, 1, 2}, out);
  }

  @Test
  void refusesTagsThatAreNotIob2() {
    assertThrows(IllegalArgumentException.class, () -> new Iob2Decoder(List.of("NN", "O")));
  }
}
