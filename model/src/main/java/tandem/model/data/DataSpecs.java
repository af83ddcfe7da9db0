package tandem.model.data;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import tandem.api.v1.BuiltinData;
import tandem.api.v1.DataSpec;
import tandem.model.spec.InvalidSpecException;

/**
 * Loads the data set a {@link DataSpec} names: a built-in one ({@link ArithmeticData},
 * {@link NumberWordsData}), a CSV file ({@link CsvDataReader}), text pairs
 * ({@link TextPairReader}) or a CoNLL file ({@link ConllReader}), relative paths resolved against
 * a base directory. Evaluation data is read with the training data's vocabularies, so that the
 * same text gets the same ids. Remembers what it loaded, so tasks that share a data source (several
 * tasks on one CSV file, or training data reused for evaluation) read it once. Confined to one
 * thread.
 */
public final class DataSpecs {

  private static final List<String> BUILTINS = List.of(ArithmeticData.NAME, NumberWordsData.NAME,
      FunctionsData.NAME);

  private record Key(DataSpec spec, Map<String, Vocabulary> vocabularies) {}

  private final Path baseDir;
  private final Map<Key, DataSet> loaded = new HashMap<>();

  /** {@code baseDir} is where relative CSV paths start, e.g. the server's working directory. */
  public DataSpecs(Path baseDir) {
    this.baseDir = baseDir;
  }

  /**
   * The data set {@code spec} describes, loaded and checked, with vocabularies built from it.
   * {@code dataPath} is the spec's field path (e.g. {@code tasks[2].data}), used to name the
   * offending field in errors.
   */
  public DataSet load(DataSpec spec, String dataPath) throws InvalidSpecException {
    return load(spec, dataPath, Map.of());
  }

  /**
   * The data set {@code spec} describes, its text mapped to ids with {@code vocabularies} (the
   * training data's {@link DataSet#vocabularies()}) where they name a field.
   */
  public DataSet load(DataSpec spec, String dataPath, Map<String, Vocabulary> vocabularies)
      throws InvalidSpecException {
    Key key = new Key(spec, vocabularies);
    DataSet known = loaded.get(key);
    if (known != null) {
      return known;
    }
    DataSet data = switch (spec.getSourceCase()) {
      case BUILTIN -> builtin(spec.getBuiltin(), dataPath + ".builtin");
      case CSV -> CsvDataReader.read(spec.getCsv(), baseDir, dataPath + ".csv", vocabularies);
      case TEXT_PAIRS -> TextPairReader.read(spec.getTextPairs(), baseDir,
          dataPath + ".textPairs", vocabularies.get(TextPairReader.VOCABULARY));
      case CONLL -> ConllReader.read(spec.getConll(), baseDir, dataPath + ".conll", vocabularies);
      case SOURCE_NOT_SET -> throw new InvalidSpecException(dataPath,
          "expected a data source (builtin, csv, textPairs or conll), found none");
    };
    loaded.put(key, data);
    return data;
  }

  private static DataSet builtin(BuiltinData builtin, String builtinPath)
      throws InvalidSpecException {
    return switch (builtin.getName()) {
      case ArithmeticData.NAME -> ArithmeticData.fromOptions(builtin.getOptionsMap(),
          builtinPath + ".options");
      case NumberWordsData.NAME -> NumberWordsData.fromOptions(builtin.getOptionsMap(),
          builtinPath + ".options");
      case FunctionsData.NAME -> FunctionsData.fromOptions(builtin.getOptionsMap(),
          builtinPath + ".options");
      default -> throw new InvalidSpecException(builtinPath + ".name", "unknown builtin data set '"
          + builtin.getName() + "'; expected one of " + BUILTINS);
    };
  }
}
