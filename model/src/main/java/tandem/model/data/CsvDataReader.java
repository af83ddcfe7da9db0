package tandem.model.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tandem.api.v1.CsvData;
import tandem.api.v1.CsvField;
import tandem.model.spec.InvalidSpecException;

/**
 * Reads a {@link CsvData} source into a {@link DataSet}, one line at a time so that only the parsed
 * values are held in memory. Cells are trimmed (UCI files separate columns with ", "), blank lines
 * are skipped (many data files end with one), and every row must have as many columns as the first
 * line. Errors name the spec field, the file, the line (1-based) and the column (0-based, as in
 * {@code CsvField.columns}). Stateless.
 */
public final class CsvDataReader {

  private static final String DEFAULT_DELIMITER = ",";

  private CsvDataReader() {}

  /**
   * Reads the file {@code csv} describes; a relative path resolves against {@code baseDir}.
   * {@code csvPath} is the source's field path in the spec, e.g. {@code tasks[0].data.csv}.
   */
  public static DataSet read(CsvData csv, Path baseDir, String csvPath)
      throws InvalidSpecException {
    return read(csv, baseDir, csvPath, Map.of());
  }

  /**
   * Reads the file with the category vocabularies of {@code given} (the training data's, for
   * evaluation data); a category field absent from it gets a vocabulary built from this file.
   */
  public static DataSet read(CsvData csv, Path baseDir, String csvPath,
      Map<String, Vocabulary> given) throws InvalidSpecException {
    List<ColumnReader> readers = checkFields(csv, csvPath, given);
    if (csv.getSkipLines() < 0) {
      throw new InvalidSpecException(csvPath + ".skipLines",
          "expected a line count >= 0, found " + csv.getSkipLines());
    }
    if (csv.getPath().isEmpty()) {
      throw new InvalidSpecException(csvPath + ".path",
          "expected the path of a CSV file, found none");
    }
    Path file = baseDir.resolve(csv.getPath()).toAbsolutePath().normalize();
    String pathField = csvPath + ".path";
    if (!Files.exists(file)) {
      throw new InvalidSpecException(pathField, "data file not found: " + file);
    }
    if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
      throw new InvalidSpecException(pathField, "cannot read data file " + file
          + (Files.isDirectory(file) ? ": it is a directory" : ": not a readable file"));
    }
    String delimiter = csv.getDelimiter().isEmpty() ? DEFAULT_DELIMITER : csv.getDelimiter();
    int rows = 0;
    // An InputStreamReader replaces malformed bytes instead of failing the whole file on them.
    try (BufferedReader lines = new BufferedReader(
        new InputStreamReader(Files.newInputStream(file), StandardCharsets.UTF_8))) {
      int columns = -1;
      int firstLine = 0;
      boolean skipHeader = csv.getHeader();
      int lineNumber = 0;
      for (String line = lines.readLine(); line != null; line = lines.readLine()) {
        lineNumber++;
        if (line.isBlank() || lineNumber <= csv.getSkipLines()) {
          continue;
        }
        String[] cells = split(line, delimiter);
        if (columns < 0) {
          columns = cells.length;
          firstLine = lineNumber;
          checkColumnsExist(csv, csvPath, file, columns);
        } else if (cells.length != columns) {
          throw new InvalidSpecException(pathField, file + " line " + lineNumber + " has "
              + cells.length + " columns, expected " + columns + " like line " + firstLine
              + " (delimiter '" + delimiter + "')");
        }
        if (skipHeader) {
          skipHeader = false;
          continue;
        }
        for (ColumnReader reader : readers) {
          reader.append(cells, file, lineNumber);
        }
        rows++;
      }
    } catch (IOException e) {
      throw new InvalidSpecException(pathField, "cannot read data file " + file + ": " + e);
    }
    if (rows == 0) {
      throw new InvalidSpecException(pathField, "data file " + file + " has no data rows");
    }
    Map<String, Field> fields = new LinkedHashMap<>();
    Map<String, Vocabulary> vocabularies = new LinkedHashMap<>();
    for (ColumnReader reader : readers) {
      fields.put(reader.name, reader.build(rows));
      if (reader instanceof CategoryColumns categories) {
        vocabularies.putAll(categories.vocabularies());
      }
    }
    return new DataSet(file.toString(), fields, vocabularies);
  }

  private static List<ColumnReader> checkFields(CsvData csv, String csvPath,
      Map<String, Vocabulary> given) throws InvalidSpecException {
    if (csv.getFieldsCount() == 0) {
      throw new InvalidSpecException(csvPath + ".fields",
          "expected at least one field (name, columns, type), found none");
    }
    List<ColumnReader> readers = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (int k = 0; k < csv.getFieldsCount(); k++) {
      CsvField field = csv.getFields(k);
      String fieldPath = csvPath + ".fields[" + k + "]";
      if (field.getName().isEmpty()) {
        throw new InvalidSpecException(fieldPath + ".name", "expected a field name, found none");
      }
      if (!names.add(field.getName())) {
        throw new InvalidSpecException(fieldPath + ".name",
            "duplicate field name '" + field.getName() + "'");
      }
      if (field.getColumnsCount() == 0) {
        throw new InvalidSpecException(fieldPath + ".columns",
            "expected at least one column index, found none");
      }
      for (int j = 0; j < field.getColumnsCount(); j++) {
        if (field.getColumns(j) < 0) {
          throw new InvalidSpecException(fieldPath + ".columns[" + j + "]",
              "expected a column index >= 0, found " + field.getColumns(j));
        }
      }
      readers.add(switch (field.getType()) {
        case "float" -> {
          if (field.getScalesCount() != 0 && field.getScalesCount() != field.getColumnsCount()) {
            throw new InvalidSpecException(fieldPath + ".scales", "expected one scale per column ("
                + field.getColumnsCount() + ") or none, found " + field.getScalesCount());
          }
          yield new FloatColumns(field, fieldPath);
        }
        case "class" -> {
          if (field.getColumnsCount() != 1) {
            throw new InvalidSpecException(fieldPath + ".columns", "a class field reads exactly "
                + "one column, found " + field.getColumnsCount());
          }
          if (field.getClasses() <= 0 && field.getLabelsCount() == 0) {
            throw new InvalidSpecException(fieldPath + ".classes",
                "expected a positive number of classes, found " + field.getClasses());
          }
          if (field.getLabelsCount() > 0 && field.getClasses() != 0
              && field.getClasses() != field.getLabelsCount()) {
            throw new InvalidSpecException(fieldPath + ".classes", "expected " 
                + field.getLabelsCount() + " classes like the labels, or 0, found "
                + field.getClasses());
          }
          yield new ClassColumn(field, fieldPath);
        }
        case "id" -> {
          if (field.getVocabularySize() <= 0) {
            throw new InvalidSpecException(fieldPath + ".vocabularySize",
                "expected a positive vocabulary size for an id field, found "
                    + field.getVocabularySize());
          }
          yield new IdColumns(field, fieldPath);
        }
        case "category" -> new CategoryColumns(field, fieldPath, given);
        default -> throw new InvalidSpecException(fieldPath + ".type", "unknown field type '"
            + field.getType() + "'; expected one of [float, class, id, category]");
      });
    }
    return readers;
  }

  private static void checkColumnsExist(CsvData csv, String csvPath, Path file, int columns)
      throws InvalidSpecException {
    for (int k = 0; k < csv.getFieldsCount(); k++) {
      CsvField field = csv.getFields(k);
      for (int j = 0; j < field.getColumnsCount(); j++) {
        if (field.getColumns(j) >= columns) {
          throw new InvalidSpecException(csvPath + ".fields[" + k + "].columns[" + j + "]",
              "column " + field.getColumns(j) + " is outside the rows of " + file
                  + ", which have " + columns + " columns (0-" + (columns - 1) + ")");
        }
      }
    }
  }

  /** Splits on a literal delimiter (no quoting) and trims every cell. */
  private static String[] split(String line, String delimiter) {
    List<String> cells = new ArrayList<>();
    int start = 0;
    for (int end = line.indexOf(delimiter); end >= 0; end = line.indexOf(delimiter, start)) {
      cells.add(line.substring(start, end).trim());
      start = end + delimiter.length();
    }
    cells.add(line.substring(start).trim());
    return cells.toArray(new String[0]);
  }

  /** Collects one field's values row by row. */
  private abstract static class ColumnReader {
    final String name;
    final String fieldPath;
    final int[] columns;
    final String suffix;

    ColumnReader(CsvField field, String fieldPath) {
      this.name = field.getName();
      this.fieldPath = fieldPath;
      this.columns = field.getColumnsList().stream().mapToInt(Integer::intValue).toArray();
      this.suffix = field.getStripSuffix();
    }

    /** Cell {@code j} of this field, its suffix stripped. */
    String cell(String[] cells, int j) {
      String cell = cells[columns[j]];
      return !suffix.isEmpty() && cell.endsWith(suffix)
          ? cell.substring(0, cell.length() - suffix.length()).trim() : cell;
    }

    abstract void append(String[] cells, Path file, int line) throws InvalidSpecException;

    abstract Field build(int rows);

    String where(Path file, int line, int j) {
      return file + " line " + line + ", column " + columns[j];
    }
  }

  private static final class FloatColumns extends ColumnReader {
    private float[] values = new float[1024];
    private int size;

    private final List<Float> scales;

    FloatColumns(CsvField field, String fieldPath) {
      super(field, fieldPath);
      this.scales = field.getScalesList();
    }

    @Override
    void append(String[] cells, Path file, int line) throws InvalidSpecException {
      for (int j = 0; j < columns.length; j++) {
        String cell = cell(cells, j);
        float value;
        try {
          value = Float.parseFloat(cell);
        } catch (NumberFormatException e) {
          throw new InvalidSpecException(fieldPath + ".columns[" + j + "]",
              where(file, line, j) + ": expected a number" + found(cell));
        }
        if (Float.isNaN(value)) {
          throw new InvalidSpecException(fieldPath + ".columns[" + j + "]",
              "NaN in data at " + where(file, line, j) + "; fill or drop missing values first");
        }
        if (Float.isInfinite(value)) {
          throw new InvalidSpecException(fieldPath + ".columns[" + j + "]", "infinite value in "
              + "data at " + where(file, line, j) + ": the number does not fit a float");
        }
        if (size == values.length) {
          values = Arrays.copyOf(values, size * 2);
        }
        values[size++] = scales.isEmpty() ? value : value * scales.get(j);
      }
    }

    @Override
    Field build(int rows) {
      return new FloatField(Arrays.copyOf(values, size), rows, columns.length);
    }
  }

  private static final class ClassColumn extends ColumnReader {
    private final int classes;
    private final List<String> labels;
    private int[] ids = new int[1024];
    private int size;

    ClassColumn(CsvField field, String fieldPath) {
      super(field, fieldPath);
      this.labels = field.getLabelsList();
      this.classes = labels.isEmpty() ? field.getClasses() : labels.size();
    }

    @Override
    void append(String[] cells, Path file, int line) throws InvalidSpecException {
      String cell = cell(cells, 0);
      int id;
      if (!labels.isEmpty()) {
        id = labels.indexOf(cell);
        if (id < 0) {
          throw new InvalidSpecException(fieldPath + ".labels", where(file, line, 0)
              + ": the label is not one of " + labels);
        }
      } else {
        try {
          id = Integer.parseInt(cell);
        } catch (NumberFormatException e) {
          throw new InvalidSpecException(fieldPath + ".columns[0]",
              where(file, line, 0) + ": expected an integer class id" + found(cell));
        }
      }
      if (id < 0 || id >= classes) {
        throw new InvalidSpecException(fieldPath + ".classes", "label out of range at "
            + where(file, line, 0) + ": class id " + id + " is outside [0, " + classes + ")");
      }
      if (size == ids.length) {
        ids = Arrays.copyOf(ids, size * 2);
      }
      ids[size++] = id;
    }

    @Override
    Field build(int rows) {
      return new ClassField(Arrays.copyOf(ids, size), classes);
    }
  }

  private static final class IdColumns extends ColumnReader {
    private final int vocabularySize;
    private int[] ids = new int[1024];
    private int size;

    IdColumns(CsvField field, String fieldPath) {
      super(field, fieldPath);
      this.vocabularySize = field.getVocabularySize();
    }

    @Override
    void append(String[] cells, Path file, int line) throws InvalidSpecException {
      for (int j = 0; j < columns.length; j++) {
        String cell = cell(cells, j);
        int id;
        try {
          id = Integer.parseInt(cell);
        } catch (NumberFormatException e) {
          throw new InvalidSpecException(fieldPath + ".columns[" + j + "]",
              where(file, line, j) + ": expected an integer id" + found(cell));
        }
        if (id < 0 || id >= vocabularySize) {
          throw new InvalidSpecException(fieldPath + ".vocabularySize", "id beyond the "
              + "vocabulary at " + where(file, line, j) + ": id " + id + " is outside [0, "
              + vocabularySize + ")");
        }
        if (size == ids.length) {
          ids = Arrays.copyOf(ids, size * 2);
        }
        ids[size++] = id;
      }
    }

    @Override
    Field build(int rows) {
      return IdField.uniform(Arrays.copyOf(ids, size), rows, columns.length, vocabularySize);
    }
  }

  /**
   * Strings mapped to ids, one vocabulary per column: given (the training data's) or built from
   * this file's values, sorted, after id 0 for values the vocabulary lacks.
   */
  private static final class CategoryColumns extends ColumnReader {
    private static final String UNKNOWN = "<unknown>";
    private final Vocabulary[] given;
    private final List<String[]> values = new ArrayList<>();
    private Vocabulary[] built;

    CategoryColumns(CsvField field, String fieldPath, Map<String, Vocabulary> vocabularies) {
      super(field, fieldPath);
      this.given = new Vocabulary[columns.length];
      for (int j = 0; j < columns.length; j++) {
        given[j] = vocabularies.get(vocabularyName(j));
      }
    }

    String vocabularyName(int j) {
      return name + "[" + j + "]";
    }

    @Override
    void append(String[] cells, Path file, int line) {
      String[] row = new String[columns.length];
      for (int j = 0; j < columns.length; j++) {
        row[j] = cell(cells, j);
      }
      values.add(row);
    }

    @Override
    Field build(int rows) {
      built = new Vocabulary[columns.length];
      int[] sizes = new int[columns.length];
      Vocabulary.Lookup[] lookups = new Vocabulary.Lookup[columns.length];
      for (int j = 0; j < columns.length; j++) {
        if (given[j] != null) {
          built[j] = given[j];
        } else {
          java.util.TreeSet<String> distinct = new java.util.TreeSet<>();
          for (String[] row : values) {
            distinct.add(row[j]);
          }
          List<String> tokens = new ArrayList<>();
          tokens.add(UNKNOWN);
          tokens.addAll(distinct);
          built[j] = new Vocabulary(tokens, 0);
        }
        sizes[j] = built[j].size();
        lookups[j] = built[j].lookup();
      }
      int[] ids = new int[rows * columns.length];
      for (int i = 0; i < rows; i++) {
        for (int j = 0; j < columns.length; j++) {
          ids[i * columns.length + j] = lookups[j].idOf(values.get(i)[j]);
        }
      }
      return new IdField(ids, rows, columns.length, sizes);
    }

    Map<String, Vocabulary> vocabularies() {
      Map<String, Vocabulary> byName = new LinkedHashMap<>();
      for (int j = 0; j < built.length; j++) {
        byName.put(vocabularyName(j), built[j]);
      }
      return byName;
    }
  }

  /**
   * What was found instead, without the cell's text: error messages go back to clients, and a
   * cell may hold anything the file holds (a wrong delimiter makes a whole line one cell).
   */
  private static String found(String cell) {
    return ", found " + (cell.isBlank() ? "an empty cell" : "a cell of " + cell.length()
        + " characters");
  }
}
