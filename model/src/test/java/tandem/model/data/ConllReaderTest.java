package tandem.model.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tandem.api.v1.ConllData;
import tandem.model.spec.InvalidSpecException;

class ConllReaderTest {

  private static final String TRAIN = """
      The DT B-NP
      walking VBG I-NP
      Dogs NNS I-NP
      bark VBP B-VP

      dogs NNS B-NP
      bark VBP B-VP
      1 LS B-LST
      """;

  @TempDir
  Path dir;

  private DataSet read(String text, ConllData.Builder spec, Map<String, Vocabulary> given)
      throws IOException, InvalidSpecException {
    Path file = dir.resolve("data-" + text.hashCode() + ".txt");
    Files.writeString(file, text);
    return ConllReader.read(spec.setPath(file.toString()).build(), dir, "tasks[0].data.conll",
        given);
  }

  @Test
  void windowsHoldWordsCapitalisationAndSuffixesAndTheDataKnowsItsSentences() throws Exception {
    DataSet data = read(TRAIN, ConllData.newBuilder().setRadius(1).addSuffixLengths(2)
        .addSuffixLengths(3), Map.of());
    assertEquals(7, data.size());
    assertArrayEquals(new int[] {0, 4}, data.sentenceStarts());
    Vocabulary words = data.vocabularies().get(ConllReader.WORDS);
    Vocabulary two = data.vocabularies().get(ConllReader.suffixVocabularyName(2));
    Vocabulary three = data.vocabularies().get(ConllReader.suffixVocabularyName(3));
    assertEquals(List.of("<pad>", "<unk>", "1", "ark", "ing", "ogs", "the"), three.tokens());
    IdField window = (IdField) data.field("window");
    // Four groups of three columns: words, capitalisation, suffixes of 2, suffixes of 3.
    assertEquals(12, window.width());
    int[] third = Arrays.copyOfRange(window.ids(), 2 * 12, 3 * 12);
    assertArrayEquals(new int[] {
        words.idOf("walking"), words.idOf("dogs"), words.idOf("bark"),
        1, 2, 1,
        two.idOf("ng"), two.idOf("gs"), two.idOf("rk"),
        three.idOf("ing"), three.idOf("ogs"), three.idOf("ark")}, third);
    // The last token of the first sentence: padding after it, not the next sentence's first word.
    int[] fourth = Arrays.copyOfRange(window.ids(), 3 * 12, 4 * 12);
    assertEquals(0, fourth[2]);
    assertEquals(0, fourth[5]);
    assertEquals(0, fourth[8]);
    assertEquals(0, fourth[11]);
    assertEquals(words.size(), window.vocabularySizes()[0]);
    assertEquals(ConllReader.CAPITALISATIONS, window.vocabularySizes()[3]);
    assertEquals(three.size(), window.vocabularySizes()[11]);
  }

  @Test
  void rareWordsAndSuffixesMapToTheUnknownIdWithAMinimumCount() throws Exception {
    DataSet data = read(TRAIN, ConllData.newBuilder().setMinCount(2).addSuffixLengths(2),
        Map.of());
    assertEquals(List.of("<pad>", "<unk>", "bark", "dogs"),
        data.vocabularies().get(ConllReader.WORDS).tokens());
    assertEquals(List.of("<pad>", "<unk>", "gs", "rk"),
        data.vocabularies().get(ConllReader.suffixVocabularyName(2)).tokens());
  }

  @Test
  void chunkTagsCoverBothPrefixesOfEveryTrainingTypeSoEvaluationDataMayHoldITagsTrainingLacks()
      throws Exception {
    DataSet training = read(TRAIN, ConllData.newBuilder().addSuffixLengths(3), Map.of());
    assertEquals(List.of("B-LST", "B-NP", "B-VP", "I-LST", "I-NP", "I-VP", "O"),
        training.vocabularies().get(ConllReader.CHUNK).tokens());
    DataSet evaluation = read("""
        2 LS B-LST
        3 LS I-LST
        zebras NNS B-NP
        """, ConllData.newBuilder().addSuffixLengths(3), training.vocabularies());
    assertEquals(training.vocabularies(), evaluation.vocabularies());
    assertArrayEquals(new int[] {0}, evaluation.sentenceStarts());
    ClassField chunks = (ClassField) evaluation.field("chunk");
    assertEquals(3, chunks.ids()[1]);
    assertEquals(7, chunks.classes());
  }

  @Test
  void refusesBadSuffixLengthsAndEvaluationSuffixesTrainingLacks() throws Exception {
    InvalidSpecException repeated = assertThrows(InvalidSpecException.class,
        () -> read(TRAIN, ConllData.newBuilder().addSuffixLengths(2).addSuffixLengths(2),
            Map.of()));
    assertEquals("tasks[0].data.conll.suffixLengths[1]", repeated.field());
    assertThrows(InvalidSpecException.class,
        () -> read(TRAIN, ConllData.newBuilder().addSuffixLengths(0), Map.of()));
    DataSet training = read(TRAIN, ConllData.newBuilder(), Map.of());
    InvalidSpecException missing = assertThrows(InvalidSpecException.class,
        () -> read(TRAIN, ConllData.newBuilder().addSuffixLengths(2), training.vocabularies()));
    assertTrue(missing.getMessage().contains("suffix length 2"), missing.getMessage());
  }

  @Test
  void suffixesAreLowerCasedAndWholeWordsWhenShorter() {
    assertEquals("ing", ConllReader.suffix("WALKING", 3));
    assertEquals("a", ConllReader.suffix("A", 3));
  }
}
