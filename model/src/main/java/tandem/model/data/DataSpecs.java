package tandem.model.data;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import tandem.api.v1.BuiltinData;
import tandem.api.v1.DataSpec;
import tandem.model.spec.InvalidSpecException;

/**
 * Loads the data set a {@link DataSpec} names: a built-in one ({@link ArithmeticData}) or a CSV
 * file ({@link CsvDataReader}), relative paths resolved against a base directory. Remembers what it
 * loaded, so tasks that share a data source (several tasks on one CSV file, or training data
 * reused for evaluation) read it once. Confined to one thread.
 */
public final class DataSpecs {

  private final Path baseDir;
  private final Map<DataSpec, DataSet> loaded = new HashMap<>();

  /** {@code baseDir} is where relative CSV paths start, e.g. the server's working directory. */
  public DataSpecs(Path baseDir) {
    this.baseDir = baseDir;
  }

  /**
   * The data set {@code spec} describes, loaded and checked. {@code dataPath} is the spec's field
   * path (e.g. {@code tasks[2].evalData}), used to name the offending field in errors.
   */
  public DataSet load(DataSpec spec, String dataPath) throws InvalidSpecException {
    DataSet known = loaded.get(spec);
    if (known != null) {
      return known;
    }
    DataSet data = switch (spec.getSourceCase()) {
      case BUILTIN -> builtin(spec.getBuiltin(), dataPath + ".builtin");
      case CSV -> CsvDataReader.read(spec.getCsv(), baseDir, dataPath + ".csv");
      case SOURCE_NOT_SET -> throw new InvalidSpecException(dataPath,
          "expected a data source (builtin or csv), found none");
    };
    loaded.put(spec, data);
    return data;
  }

  private static DataSet builtin(BuiltinData builtin, String builtinPath)
      throws InvalidSpecException {
    if (builtin.getName().equals(FunctionsData.NAME)) {
      return FunctionsData.fromOptions(builtin.getOptionsMap(), builtinPath + ".options");
    }
    if (!builtin.getName().equals(ArithmeticData.NAME)) {
      throw new InvalidSpecException(builtinPath + ".name", "unknown builtin data set '"
          + builtin.getName() + "'; expected one of [" + ArithmeticData.NAME + ", "
          + FunctionsData.NAME + "]");
    }
    return ArithmeticData.fromOptions(builtin.getOptionsMap(), builtinPath + ".options");
  }
}
