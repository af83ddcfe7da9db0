package tandem.model.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import tandem.api.v1.ConllData;
import tandem.model.spec.InvalidSpecException;

/**
 * Reads {@link ConllData} (CoNLL-2000: {@code word POS chunk} per line, a blank line between
 * sentences) into one example per token: {@code window} (ids of the lower-cased words from
 * {@code radius} before to {@code radius} after the token, 0 beyond the sentence, 1 unknown; then
 * the capitalisation ids of the same positions), {@code pos} and {@code chunk} (class fields).
 * Vocabularies (words, POS tags, chunk tags) are built from the training file or given for
 * evaluation data; a tag the training file lacks is an error naming the line. Stateless.
 */
public final class ConllReader {

  /** Vocabulary names in {@link DataSet#vocabularies()}. */
  public static final String WORDS = "window";
  public static final String POS = "pos";
  public static final String CHUNK = "chunk";
  /** Capitalisation ids: 0 padding, 1 lower case, 2 capitalised, 3 all caps, 4 other. */
  public static final int CAPITALISATIONS = 5;
  private static final int PADDING = 0;
  private static final int UNKNOWN = 1;
  private static final int DEFAULT_RADIUS = 2;

  private ConllReader() {}

  /** One token of a sentence, with the line it came from. */
  private record Token(String word, String pos, String chunk, int line) {}

  /**
   * Reads the file; {@code given} holds the training data's vocabularies for evaluation data, or
   * is empty to build them. {@code sourcePath} is the spec field, e.g. {@code tasks[0].data.conll}.
   */
  public static DataSet read(ConllData spec, Path baseDir, String sourcePath,
      Map<String, Vocabulary> given) throws InvalidSpecException {
    String pathField = sourcePath + ".path";
    Path file = TextFiles.resolve(spec.getPath(), baseDir, pathField);
    if (spec.getRadius() < 0 || spec.getMinCount() < 0) {
      throw new InvalidSpecException(sourcePath + (spec.getRadius() < 0 ? ".radius" : ".minCount"),
          "expected a value >= 0, found " + Math.min(spec.getRadius(), spec.getMinCount()));
    }
    int radius = spec.getRadius() == 0 ? DEFAULT_RADIUS : spec.getRadius();
    List<List<Token>> sentences = sentences(file, pathField);
    Vocabulary words = given.get(WORDS);
    Vocabulary pos = given.get(POS);
    Vocabulary chunk = given.get(CHUNK);
    if (words == null) {
      words = wordVocabulary(sentences, Math.max(1, spec.getMinCount()));
      pos = tagVocabulary(sentences, true);
      chunk = tagVocabulary(sentences, false);
    }
    int tokens = sentences.stream().mapToInt(List::size).sum();
    int span = 2 * radius + 1;
    int width = 2 * span;
    int[] window = new int[tokens * width];
    int[] posIds = new int[tokens];
    int[] chunkIds = new int[tokens];
    Vocabulary.Lookup wordIds = words.lookup();
    Vocabulary.Lookup posLookup = pos.lookup();
    Vocabulary.Lookup chunkLookup = chunk.lookup();
    int row = 0;
    for (List<Token> sentence : sentences) {
      for (int i = 0; i < sentence.size(); i++) {
        for (int k = 0; k < span; k++) {
          int j = i - radius + k;
          boolean inside = j >= 0 && j < sentence.size();
          String word = inside ? sentence.get(j).word() : null;
          window[row * width + k] = inside ? wordIds.idOf(word.toLowerCase()) : PADDING;
          window[row * width + span + k] = inside ? capitalisation(word) : PADDING;
        }
        Token token = sentence.get(i);
        posIds[row] = tag(posLookup, token.pos(), token.line(), file, pathField, "POS");
        chunkIds[row] = tag(chunkLookup, token.chunk(), token.line(), file, pathField, "chunk");
        row++;
      }
    }
    int[] sizes = new int[width];
    for (int k = 0; k < span; k++) {
      sizes[k] = words.size();
      sizes[span + k] = CAPITALISATIONS;
    }
    Map<String, Field> fields = new LinkedHashMap<>();
    fields.put("window", new IdField(window, tokens, width, sizes));
    fields.put("pos", new ClassField(posIds, pos.size()));
    fields.put("chunk", new ClassField(chunkIds, chunk.size()));
    return new DataSet(file.toString(), fields, Map.of(WORDS, words, POS, pos, CHUNK, chunk));
  }

  /** 1 lower case, 2 capitalised, 3 all caps (two or more letters), 4 anything else. */
  static int capitalisation(String word) {
    boolean anyLetter = false;
    boolean allLower = true;
    boolean allUpper = true;
    int letters = 0;
    for (char c : word.toCharArray()) {
      if (Character.isLetter(c)) {
        anyLetter = true;
        letters++;
        allLower &= Character.isLowerCase(c);
        allUpper &= Character.isUpperCase(c);
      }
    }
    if (!anyLetter) {
      return 4;
    }
    if (allLower) {
      return 1;
    }
    if (allUpper && letters > 1) {
      return 3;
    }
    return Character.isUpperCase(word.charAt(0)) ? 2 : 4;
  }

  private static List<List<Token>> sentences(Path file, String pathField)
      throws InvalidSpecException {
    List<List<Token>> sentences = new ArrayList<>();
    List<Token> sentence = new ArrayList<>();
    List<String> lines = TextFiles.lines(file, pathField);
    for (int n = 0; n < lines.size(); n++) {
      String line = lines.get(n).trim();
      if (line.isEmpty()) {
        if (!sentence.isEmpty()) {
          sentences.add(sentence);
          sentence = new ArrayList<>();
        }
        continue;
      }
      String[] columns = line.split("\\s+");
      if (columns.length != 3) {
        throw new InvalidSpecException(pathField, file + " line " + (n + 1) + " has "
            + columns.length + " columns, expected 3 (word POS chunk)");
      }
      sentence.add(new Token(columns[0], columns[1], columns[2], n + 1));
    }
    if (!sentence.isEmpty()) {
      sentences.add(sentence);
    }
    if (sentences.isEmpty()) {
      throw new InvalidSpecException(pathField, "data file " + file + " has no sentences");
    }
    return sentences;
  }

  private static Vocabulary wordVocabulary(List<List<Token>> sentences, int minCount) {
    Map<String, Integer> counts = new HashMap<>();
    sentences.forEach(s -> s.forEach(t -> counts.merge(t.word().toLowerCase(), 1, Integer::sum)));
    List<String> tokens = new ArrayList<>(List.of("<pad>", "<unk>"));
    counts.entrySet().stream().filter(e -> e.getValue() >= minCount).map(Map.Entry::getKey)
        .sorted().forEach(tokens::add);
    return new Vocabulary(tokens, UNKNOWN);
  }

  private static Vocabulary tagVocabulary(List<List<Token>> sentences, boolean pos) {
    TreeSet<String> tags = new TreeSet<>();
    sentences.forEach(s -> s.forEach(t -> tags.add(pos ? t.pos() : t.chunk())));
    return new Vocabulary(new ArrayList<>(tags), -1);
  }

  private static int tag(Vocabulary.Lookup lookup, String tag, int line, Path file,
      String pathField, String what) throws InvalidSpecException {
    int id = lookup.idOf(tag);
    if (id < 0) {
      throw new InvalidSpecException(pathField, file + " line " + line + ": " + what + " tag '"
          + tag + "' does not occur in the training data " + lookup.vocabulary().tokens());
    }
    return id;
  }
}
