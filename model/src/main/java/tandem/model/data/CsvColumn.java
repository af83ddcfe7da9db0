package tandem.model.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.apache.commons.csv.CSVRecord;
import tandem.api.v1.CsvField;
import tandem.model.spec.InvalidSpecException;

/**
 * One {@link CsvField} of a {@link CsvDataReader} source: checks the field's spec, collects its
 * values row by row from the parsed records, and builds the {@link Field}. Error messages name the
 * spec field, the file, the line (1-based) and the column (0-based), never a cell's text. Confined
 * to the reading thread.
 */
abstract class CsvColumn {
  final String name;
  final String fieldPath;
  final int[] columns;
  final String suffix;

  CsvColumn(CsvField field, String fieldPath) {
    this.name = field.getName();
    this.fieldPath = fieldPath;
    this.columns = field.getColumnsList().stream().mapToInt(Integer::intValue).toArray();
    this.suffix = field.getStripSuffix();
  }

  /**
   * The column reader for {@code field} (at {@code fieldPath} in the spec), after checking the
   * options of its type; {@code given} holds the training data's category vocabularies.
   */
  static CsvColumn of(CsvField field, String fieldPath, Map<String, Vocabulary> given)
      throws InvalidSpecException {
    return switch (field.getType()) {
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
    };
  }

  /** Cell {@code j} of this field, its suffix stripped. */
  String cell(CSVRecord cells, int j) {
    String cell = cells.get(columns[j]);
    return !suffix.isEmpty() && cell.endsWith(suffix)
        ? cell.substring(0, cell.length() - suffix.length()).trim() : cell;
  }

  abstract void append(CSVRecord cells, Path file, long line) throws InvalidSpecException;

  abstract Field build(int rows);

  /** The vocabularies {@link #build} used, by name; none but for category fields. */
  Map<String, Vocabulary> vocabularies() {
    return Map.of();
  }

  String where(Path file, long line, int j) {
    return file + " line " + line + ", column " + columns[j];
  }

  private static final class FloatColumns extends CsvColumn {
    private float[] values = new float[1024];
    private int size;

    private final List<Float> scales;

    FloatColumns(CsvField field, String fieldPath) {
      super(field, fieldPath);
      this.scales = field.getScalesList();
    }

    @Override
    void append(CSVRecord cells, Path file, long line) throws InvalidSpecException {
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

  private static final class ClassColumn extends CsvColumn {
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
    void append(CSVRecord cells, Path file, long line) throws InvalidSpecException {
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

  private static final class IdColumns extends CsvColumn {
    private final int vocabularySize;
    private int[] ids = new int[1024];
    private int size;

    IdColumns(CsvField field, String fieldPath) {
      super(field, fieldPath);
      this.vocabularySize = field.getVocabularySize();
    }

    @Override
    void append(CSVRecord cells, Path file, long line) throws InvalidSpecException {
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
  private static final class CategoryColumns extends CsvColumn {
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
    void append(CSVRecord cells, Path file, long line) {
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
          TreeSet<String> distinct = new TreeSet<>();
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

    @Override
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
  static String found(String cell) {
    return ", found " + (cell.isBlank() ? "an empty cell" : "a cell of " + cell.length()
        + " characters");
  }
}
