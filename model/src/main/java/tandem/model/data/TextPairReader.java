package tandem.model.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tandem.api.v1.TextPairData;
import tandem.model.spec.InvalidSpecException;

/**
 * Reads {@link TextPairData}: one {@code source<TAB>target} example per line, blank lines skipped,
 * into character-id sequence fields {@code source} (width {@code maxLength}) and {@code target}
 * (width {@code maxLength + 1}, ending with the end id), with one character vocabulary built from
 * the training file ({@link CharacterSequences}) or given (evaluation data). Stateless.
 */
public final class TextPairReader {

  /** Name of the shared character vocabulary in {@link DataSet#vocabularies()}. */
  public static final String VOCABULARY = "characters";

  private TextPairReader() {}

  /**
   * Reads the pairs; {@code given} is the training data's vocabulary for evaluation data, or
   * {@code null} to build one. {@code sourcePath} is the spec field, e.g. {@code tasks[0].data.textPairs}.
   */
  public static DataSet read(TextPairData spec, Path baseDir, String sourcePath,
      Vocabulary given) throws InvalidSpecException {
    String pathField = sourcePath + ".path";
    Path file = TextFiles.resolve(spec.getPath(), baseDir, pathField);
    int maxLength = spec.getMaxLength();
    if (maxLength <= 0) {
      throw new InvalidSpecException(sourcePath + ".maxLength",
          "expected the longest sequence allowed (characters, positive), found " + maxLength);
    }
    List<String> sources = new ArrayList<>();
    List<String> targets = new ArrayList<>();
    List<String> lines = TextFiles.lines(file, pathField);
    for (int n = 0; n < lines.size(); n++) {
      String line = lines.get(n);
      if (line.isBlank()) {
        continue;
      }
      int tab = line.indexOf('\t');
      if (tab < 0) {
        throw new InvalidSpecException(pathField, file + " line " + (n + 1)
            + ": expected source<TAB>target, found no tab");
      }
      String source = line.substring(0, tab);
      String target = line.substring(tab + 1);
      for (String side : List.of(source, target)) {
        if (side.length() > maxLength) {
          throw new InvalidSpecException(sourcePath + ".maxLength", file + " line " + (n + 1)
              + ": a sequence has " + side.length()
              + " characters, more than the maximum " + maxLength);
        }
      }
      sources.add(source);
      targets.add(target);
    }
    if (sources.isEmpty()) {
      throw new InvalidSpecException(pathField, "data file " + file + " has no pairs");
    }
    Vocabulary vocabulary = given;
    if (vocabulary == null) {
      List<String> all = new ArrayList<>(sources);
      all.addAll(targets);
      vocabulary = CharacterSequences.vocabulary(all);
    }
    Vocabulary.Lookup lookup = vocabulary.lookup();
    int rows = sources.size();
    int[] sourceIds = new int[rows * maxLength];
    int[] targetIds = new int[rows * (maxLength + 1)];
    for (int i = 0; i < rows; i++) {
      CharacterSequences.write(sources.get(i), lookup, false, sourceIds, i * maxLength,
          maxLength);
      CharacterSequences.write(targets.get(i), lookup, true, targetIds, i * (maxLength + 1),
          maxLength + 1);
    }
    Map<String, Field> fields = new LinkedHashMap<>();
    fields.put("source", IdField.uniform(sourceIds, rows, maxLength, vocabulary.size()));
    fields.put("target", IdField.uniform(targetIds, rows, maxLength + 1, vocabulary.size()));
    return new DataSet(file.toString(), fields, Map.of(VOCABULARY, vocabulary));
  }
}
