package tandem.model.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.csv.CSVException;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import tandem.api.v1.CsvData;
import tandem.api.v1.CsvField;
import tandem.model.spec.InvalidSpecException;

/**
 * Reads a {@link CsvData} source into a {@link DataSet}, one record at a time so that only the
 * parsed values are held in memory. The file is RFC 4180 CSV as Apache Commons CSV reads it, with
 * the spec's delimiter: a cell in double quotes may hold the delimiter, line breaks and doubled
 * quotes ({@code "a ""b"", c"}); spaces around cells are dropped (UCI files separate columns with
 * ", "), a UTF-8 byte order mark is skipped, blank lines are skipped (many data files end with
 * one), and every row must have as many columns as the first. Errors name the spec field, the
 * file, the line (1-based; a record's first line where a quoted cell spans several) and the column
 * (0-based, as in {@code CsvField.columns}), never a cell's text: messages go back to clients.
 * Stateless.
 */
public final class CsvDataReader {

  private static final String DEFAULT_DELIMITER = ",";
  private static final char BYTE_ORDER_MARK = '\uFEFF';

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
    List<CsvColumn> readers = checkFields(csv, csvPath, given);
    if (csv.getSkipLines() < 0) {
      throw new InvalidSpecException(csvPath + ".skipLines",
          "expected a line count >= 0, found " + csv.getSkipLines());
    }
    if (csv.getPath().isEmpty()) {
      throw new InvalidSpecException(csvPath + ".path",
          "expected the path of a CSV file, found none");
    }
    String delimiter = csv.getDelimiter().isEmpty() ? DEFAULT_DELIMITER : csv.getDelimiter();
    CSVFormat format = format(delimiter, csvPath);
    Path file = baseDir.resolve(csv.getPath()).toAbsolutePath().normalize();
    String pathField = csvPath + ".path";
    if (!Files.exists(file)) {
      throw new InvalidSpecException(pathField, "data file not found: " + file);
    }
    if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
      throw new InvalidSpecException(pathField, "cannot read data file " + file
          + (Files.isDirectory(file) ? ": it is a directory" : ": not a readable file"));
    }
    int rows = 0;
    // An InputStreamReader replaces malformed bytes instead of failing the whole file on them.
    try (BufferedReader text = new BufferedReader(
        new InputStreamReader(Files.newInputStream(file), StandardCharsets.UTF_8))) {
      skipByteOrderMark(text);
      int skipped = 0;
      while (skipped < csv.getSkipLines() && text.readLine() != null) {
        skipped++;
      }
      CSVParser parser = format.parse(text);
      Iterator<CSVRecord> records = parser.iterator();
      int columns = -1;
      long firstLine = 0;
      boolean skipHeader = csv.getHeader();
      // The parser counts the lines it has consumed: a record starts after the previous one ends.
      long endOfPrevious = 0;
      while (true) {
        long line = skipped + endOfPrevious + 1;
        CSVRecord cells = next(records, file, line, pathField);
        if (cells == null) {
          break;
        }
        endOfPrevious = parser.getCurrentLineNumber();
        if (cells.size() == 1 && cells.get(0).isBlank()) {
          continue;
        }
        if (columns < 0) {
          columns = cells.size();
          firstLine = line;
          checkColumnsExist(csv, csvPath, file, columns);
        } else if (cells.size() != columns) {
          throw new InvalidSpecException(pathField, file + " line " + line + " has "
              + cells.size() + " columns, expected " + columns + " like line " + firstLine
              + " (delimiter '" + delimiter + "')");
        }
        if (skipHeader) {
          skipHeader = false;
          continue;
        }
        for (CsvColumn reader : readers) {
          reader.append(cells, file, line);
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
    for (CsvColumn reader : readers) {
      fields.put(reader.name, reader.build(rows));
      vocabularies.putAll(reader.vocabularies());
    }
    return new DataSet(file.toString(), fields, vocabularies);
  }

  /**
   * RFC 4180 with {@code delimiter}: double quotes, doubled inside a quoted cell; no escape
   * character; blank lines are records of one empty cell, skipped by the caller so that line
   * numbers stay exact.
   */
  private static CSVFormat format(String delimiter, String csvPath) throws InvalidSpecException {
    try {
      return CSVFormat.RFC4180.builder()
          .setDelimiter(delimiter)
          .setIgnoreSurroundingSpaces(true)
          .setIgnoreEmptyLines(false)
          .get();
    } catch (IllegalArgumentException e) {
      // A delimiter of a line break or a double quote; the message names only those characters.
      throw new InvalidSpecException(csvPath + ".delimiter", "cannot separate columns with this "
          + "delimiter: " + e.getMessage());
    }
  }

  private static void skipByteOrderMark(BufferedReader text) throws IOException {
    text.mark(1);
    if (text.read() != BYTE_ORDER_MARK) {
      text.reset();
    }
  }

  /**
   * The next record, or null at the end of the file. The parser's own message names positions
   * only, but ours says what is wrong in words and never quotes the file.
   */
  private static CSVRecord next(Iterator<CSVRecord> records, Path file, long line,
      String pathField) throws InvalidSpecException {
    try {
      return records.hasNext() ? records.next() : null;
    } catch (UncheckedIOException e) {
      if (!(e.getCause() instanceof CSVException)) {
        throw new InvalidSpecException(pathField, "cannot read data file " + file + " at line "
            + line + ": " + e.getCause());
      }
      throw new InvalidSpecException(pathField, file + " line " + line + ": malformed quoting in "
          + "the row that starts there (a quoted cell must end with a quote followed by the "
          + "delimiter or the end of the line, and a quote inside it is written twice)");
    }
  }

  private static List<CsvColumn> checkFields(CsvData csv, String csvPath,
      Map<String, Vocabulary> given) throws InvalidSpecException {
    if (csv.getFieldsCount() == 0) {
      throw new InvalidSpecException(csvPath + ".fields",
          "expected at least one field (name, columns, type), found none");
    }
    List<CsvColumn> readers = new ArrayList<>();
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
      readers.add(CsvColumn.of(field, fieldPath, given));
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
}
