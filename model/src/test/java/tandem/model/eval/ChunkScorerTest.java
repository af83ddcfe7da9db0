package tandem.model.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import tandem.model.eval.ChunkScorer.Chunk;

class ChunkScorerTest {

  private static final List<String> TAGS = List.of("B-NP", "B-PP", "B-VP", "I-NP", "I-PP",
      "I-VP", "O");
  private static final ChunkScorer SCORER = new ChunkScorer(TAGS);

  private static int[] ids(String... tags) {
    return java.util.Arrays.stream(tags).mapToInt(TAGS::indexOf).toArray();
  }

  private static List<Chunk> chunks(String... tags) {
    return SCORER.chunks(ids(tags), 0, tags.length);
  }

  @Test
  void chunksStartAtBAndRunOverI() {
    assertEquals(List.of(new Chunk("NP", 0, 3), new Chunk("VP", 3, 4)),
        chunks("B-NP", "I-NP", "I-NP", "B-VP"));
  }

  @Test
  void anITagWithoutBStartsAChunkAsConllevalDoes() {
    assertEquals(List.of(new Chunk("NP", 0, 2)), chunks("I-NP", "I-NP"));
    assertEquals(List.of(new Chunk("NP", 1, 3)), chunks("O", "I-NP", "I-NP", "O"));
  }

  @Test
  void aTypeChangeEndsTheChunkAndStartsAnother() {
    assertEquals(List.of(new Chunk("NP", 0, 2), new Chunk("VP", 2, 4)),
        chunks("B-NP", "I-NP", "I-VP", "I-VP"));
  }

  @Test
  void bAfterBOfTheSameTypeStartsANewChunk() {
    assertEquals(List.of(new Chunk("NP", 0, 1), new Chunk("NP", 1, 3)),
        chunks("B-NP", "B-NP", "I-NP"));
  }

  @Test
  void oBetweenChunksSeparatesThem() {
    assertEquals(List.of(new Chunk("NP", 0, 1), new Chunk("NP", 2, 3)),
        chunks("B-NP", "O", "I-NP", "O"));
    assertEquals(List.of(), chunks("O", "O"));
  }

  @Test
  void aChunkAtTheSentenceEndIsClosedThereAndNotJoinedToTheNextSentence() {
    int[] gold = ids("B-NP", "I-NP", "I-NP", "B-VP");
    // Sentences [0, 2) and [2, 4): the I-NP at 2 opens a chunk of the second sentence.
    int[] starts = {0, 2};
    ChunkScore score = SCORER.score(gold, gold, starts);
    assertEquals(new ChunkScore(3, 3, 3), score);
    assertEquals(new ChunkScore(2, 2, 2), SCORER.score(gold, gold, new int[0]));
  }

  @Test
  void aChunkCountsOnlyWhenTypeStartAndEndAllMatch() {
    int[] gold = ids("B-NP", "I-NP", "B-VP", "B-PP", "B-NP", "O");
    int[] predicted = ids(
        "B-NP", "I-NP", // NP [0,2): correct
        "B-NP", // type wrong
        "B-PP", "I-PP", // PP [3,5): end wrong, and the gold NP [4,5) is missed
        "O");
    ChunkScore score = SCORER.score(gold, predicted, new int[] {0});
    assertEquals(new ChunkScore(4, 3, 1), score);
    assertEquals(1.0 / 3, score.precision(), 1e-12);
    assertEquals(0.25, score.recall(), 1e-12);
    assertEquals(2 * (1.0 / 3) * 0.25 / (1.0 / 3 + 0.25), score.f1(), 1e-12);
  }

  @Test
  void perfectTagsScoreOneAndNoChunksScoreZero() {
    int[] gold = ids("B-NP", "I-NP", "B-VP", "O", "I-PP");
    assertEquals(1.0, SCORER.score(gold, gold, new int[] {0, 3}).f1(), 0);
    ChunkScore none = SCORER.score(gold, ids("O", "O", "O", "O", "O"), new int[] {0});
    assertEquals(0.0, none.precision(), 0);
    assertEquals(0.0, none.f1(), 0);
  }

  @Test
  void refusesNonIob2TagsAndMismatchedInput() {
    assertThrows(IllegalArgumentException.class, () -> new ChunkScorer(List.of("O", "NP")));
    assertTrue(ChunkScorer.isIob2(TAGS));
    assertFalse(ChunkScorer.isIob2(List.of("NN", "VB")));
    assertThrows(IllegalArgumentException.class,
        () -> SCORER.score(ids("O"), ids("O", "O"), new int[0]));
    assertThrows(IllegalArgumentException.class,
        () -> SCORER.score(ids("O", "O"), ids("O", "O"), new int[] {1}));
  }
}
