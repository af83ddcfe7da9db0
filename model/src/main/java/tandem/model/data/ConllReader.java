package tandem.model.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.TreeSet;
import java.util.function.Function;
import tandem.api.v1.ConllData;
import tandem.model.eval.ChunkScorer;
import tandem.model.spec.InvalidSpecException;

/**
 * Reads {@link ConllData} (CoNLL-2000: {@code word POS chunk} per line, a blank line between
 * sentences) into one example per token: {@code window} (ids of the lower-cased words from
 * {@code radius} before to {@code radius} after the token, 0 beyond the sentence, 1 unknown; then
 * the capitalisation ids of the same positions, then for each suffix length the ids of the words'
 * suffixes), {@code pos} and {@code chunk} (class fields). Rows keep sentence order and the data
 * set records where sentences start. Vocabularies (words, POS tags, chunk tags, suffixes) are
 * built from the training file or given for evaluation data; a tag the training file lacks is an
 * error naming the line. Stateless.
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
    List<Integer> suffixLengths = suffixLengths(spec, sourcePath + ".suffixLengths");
    int radius = spec.getRadius() == 0 ? DEFAULT_RADIUS : spec.getRadius();
    int minCount = Math.max(1, spec.getMinCount());
    List<List<Token>> sentences = sentences(file, pathField);
    Map<String, Vocabulary> vocabularies = new LinkedHashMap<>();
    if (given.get(WORDS) == null) {
      vocabularies.put(WORDS, featureVocabulary(sentences, ConllReader::lowerCase, minCount));
      vocabularies.put(POS, tagVocabulary(sentences, true));
      vocabularies.put(CHUNK, tagVocabulary(sentences, false));
      for (int length : suffixLengths) {
        vocabularies.put(suffixVocabularyName(length),
            featureVocabulary(sentences, word -> suffix(word, length), minCount));
      }
    } else {
      vocabularies.put(WORDS, given.get(WORDS));
      vocabularies.put(POS, given.get(POS));
      vocabularies.put(CHUNK, given.get(CHUNK));
      for (int length : suffixLengths) {
        Vocabulary suffixes = given.get(suffixVocabularyName(length));
        if (suffixes == null) {
          throw new InvalidSpecException(sourcePath + ".suffixLengths", "suffix length " + length
              + " has no vocabulary in the training data; use the training data's suffixLengths");
        }
        vocabularies.put(suffixVocabularyName(length), suffixes);
      }
    }
    int tokens = sentences.stream().mapToInt(List::size).sum();
    int span = 2 * radius + 1;
    List<WindowFeature> features = new ArrayList<>();
    features.add(new WindowFeature(vocabularies.get(WORDS), ConllReader::lowerCase));
    for (int length : suffixLengths) {
      features.add(new WindowFeature(vocabularies.get(suffixVocabularyName(length)),
          word -> suffix(word, length)));
    }
    // Column groups: words, capitalisation, then each suffix length.
    int groups = features.size() + 1;
    int width = groups * span;
    int[] window = new int[tokens * width];
    int[] posIds = new int[tokens];
    int[] chunkIds = new int[tokens];
    int[] sentenceStarts = new int[sentences.size()];
    List<Vocabulary.Lookup> lookups = features.stream().map(f -> f.vocabulary().lookup()).toList();
    Vocabulary.Lookup posLookup = vocabularies.get(POS).lookup();
    Vocabulary.Lookup chunkLookup = vocabularies.get(CHUNK).lookup();
    int row = 0;
    for (int s = 0; s < sentences.size(); s++) {
      List<Token> sentence = sentences.get(s);
      sentenceStarts[s] = row;
      for (int i = 0; i < sentence.size(); i++) {
        for (int k = 0; k < span; k++) {
          int j = i - radius + k;
          boolean inside = j >= 0 && j < sentence.size();
          String word = inside ? sentence.get(j).word() : null;
          int base = row * width;
          window[base + k] = inside ? lookups.get(0).idOf(lowerCase(word)) : PADDING;
          window[base + span + k] = inside ? capitalisation(word) : PADDING;
          for (int f = 1; f < features.size(); f++) {
            window[base + (f + 1) * span + k] = inside
                ? lookups.get(f).idOf(features.get(f).text().apply(word)) : PADDING;
          }
        }
        Token token = sentence.get(i);
        posIds[row] = tag(posLookup, token.pos(), token.line(), file, pathField, "POS");
        chunkIds[row] = tag(chunkLookup, token.chunk(), token.line(), file, pathField, "chunk");
        row++;
      }
    }
    int[] sizes = new int[width];
    for (int k = 0; k < span; k++) {
      sizes[k] = features.get(0).vocabulary().size();
      sizes[span + k] = CAPITALISATIONS;
      for (int f = 1; f < features.size(); f++) {
        sizes[(f + 1) * span + k] = features.get(f).vocabulary().size();
      }
    }
    Map<String, Field> fields = new LinkedHashMap<>();
    fields.put("window", new IdField(window, tokens, width, sizes));
    fields.put("pos", new ClassField(posIds, vocabularies.get(POS).size()));
    fields.put("chunk", new ClassField(chunkIds, vocabularies.get(CHUNK).size()));
    return new DataSet(file.toString(), fields, vocabularies, sentenceStarts);
  }

  /** The name of the vocabulary of suffixes of {@code length} characters, e.g. {@code suffix3}. */
  public static String suffixVocabularyName(int length) {
    return "suffix" + length;
  }

  /** The lower-cased last {@code length} characters of {@code word}, or all of it when shorter. */
  static String suffix(String word, int length) {
    String lower = lowerCase(word);
    return lower.length() <= length ? lower : lower.substring(lower.length() - length);
  }

  private static String lowerCase(String word) {
    return word.toLowerCase(Locale.ROOT);
  }

  /** A feature read from each window word through a vocabulary of its text. */
  private record WindowFeature(Vocabulary vocabulary, Function<String, String> text) {}

  private static List<Integer> suffixLengths(ConllData spec, String field)
      throws InvalidSpecException {
    List<Integer> lengths = spec.getSuffixLengthsList();
    for (int i = 0; i < lengths.size(); i++) {
      int length = lengths.get(i);
      if (length <= 0 || lengths.subList(0, i).contains(length)) {
        throw new InvalidSpecException(field + "[" + i + "]", "expected a positive length not "
            + "listed before, found " + length + " in " + lengths);
      }
    }
    return lengths;
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

  private static Vocabulary featureVocabulary(List<List<Token>> sentences,
      Function<String, String> text, int minCount) {
    Map<String, Integer> counts = new HashMap<>();
    sentences.forEach(s -> s.forEach(t -> counts.merge(text.apply(t.word()), 1, Integer::sum)));
    List<String> tokens = new ArrayList<>(List.of("<pad>", "<unk>"));
    counts.entrySet().stream().filter(e -> e.getValue() >= minCount).map(Map.Entry::getKey)
        .sorted().forEach(tokens::add);
    return new Vocabulary(tokens, UNKNOWN);
  }

  /**
   * POS tags as the training file has them. Chunk tags, when they are IOB2, are {@code O} and
   * both {@code B-X} and {@code I-X} of every chunk type X the training file has (whether or not
   * the file has {@code O} or both prefixes), so that an
   * evaluation file may hold a tag of a known type the training file happens to lack (the
   * CoNLL-2000 test file has {@code I-LST}; the training file only {@code B-LST}).
   */
  private static Vocabulary tagVocabulary(List<List<Token>> sentences, boolean pos) {
    TreeSet<String> tags = new TreeSet<>();
    sentences.forEach(s -> s.forEach(t -> tags.add(pos ? t.pos() : t.chunk())));
    if (!pos && ChunkScorer.isIob2(List.copyOf(tags))) {
      tags.add("O");
      for (String tag : List.copyOf(tags)) {
        if (!tag.equals("O")) {
          tags.add("B-" + tag.substring(2));
          tags.add("I-" + tag.substring(2));
        }
      }
    }
    return new Vocabulary(new ArrayList<>(tags), -1);
  }

  private static int tag(Vocabulary.Lookup lookup, String tag, int line, Path file,
      String pathField, String what) throws InvalidSpecException {
    int id = lookup.idOf(tag);
    if (id < 0) {
      // Neither the tag nor the training data's tags: messages never quote a data file.
      throw new InvalidSpecException(pathField, file + " line " + line + ": the " + what
          + " tag does not occur in the training data");
    }
    return id;
  }
}
