package tandem.model.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tandem.api.v1.CsvData;
import tandem.api.v1.CsvField;
import tandem.model.spec.InvalidSpecException;

class CsvDataReaderTest {

  private static final String CSV = "tasks[0].data.csv";

  @TempDir
  Path dir;

  @Test
  void readsFloatAndClassFieldsTrimmingCellsAndSkippingHeaderAndBlankLines() throws Exception {
    Files.writeString(dir.resolve("small.csv"),
        "x; y; label\n1.5; -2; 1\n\n 0 ;3e2;0\n4;0.25; 2\n\n\n");
    CsvData csv = CsvData.newBuilder().setPath("small.csv").setHeader(true).setDelimiter(";")
        .addFields(floatField("xy", 0, 1))
        .addFields(CsvField.newBuilder().setName("label").addColumns(2).setType("class")
            .setClasses(3))
        .addFields(floatField("yx", 1, 0))
        .build();

    DataSet data = CsvDataReader.read(csv, dir, CSV);

    assertEquals(3, data.size());
    assertEquals(List.of("xy", "label", "yx"), List.copyOf(data.fieldNames()));
    FloatField xy = (FloatField) data.field("xy");
    assertEquals(2, xy.width());
    assertArrayEquals(new float[] {1.5f, -2f, 0f, 300f, 4f, 0.25f}, xy.values());
    assertArrayEquals(new float[] {-2f, 1.5f, 300f, 0f, 0.25f, 4f},
        ((FloatField) data.field("yx")).values());
    ClassField label = (ClassField) data.field("label");
    assertEquals(3, label.classes());
    assertArrayEquals(new int[] {1, 0, 2}, label.ids());
  }

  @Test
  void defaultDelimiterIsCommaAndTheFirstLineIsDataWithoutHeader() throws Exception {
    Files.writeString(dir.resolve("plain.csv"), "1,2\n3,4\n");
    CsvData csv = CsvData.newBuilder().setPath(dir.resolve("plain.csv").toString())
        .addFields(floatField("b", 1)).build();

    DataSet data = CsvDataReader.read(csv, Path.of("/nonexistent"), CSV);

    assertArrayEquals(new float[] {2f, 4f}, ((FloatField) data.field("b")).values());
  }

  @Test
  void unparseableNumberNamesLineAndColumn() throws IOException {
    Files.writeString(dir.resolve("bad.csv"), "1,2\n3,four\n");
    CsvData csv = CsvData.newBuilder().setPath("bad.csv").addFields(floatField("v", 0, 1)).build();

    InvalidSpecException e = assertThrows(InvalidSpecException.class,
        () -> CsvDataReader.read(csv, dir, CSV));

    assertEquals(CSV + ".fields[0].columns[1]", e.field());
    assertTrue(e.getMessage().contains("line 2, column 1"), e.getMessage());
    assertTrue(e.getMessage().contains("expected a number, found a cell of 4 characters"), e.getMessage());
  }

  @Test
  void infiniteValueIsRejected() throws IOException {
    Files.writeString(dir.resolve("inf.csv"), "1\n1e39\n");
    CsvData csv = CsvData.newBuilder().setPath("inf.csv").addFields(floatField("v", 0)).build();

    InvalidSpecException e = assertThrows(InvalidSpecException.class,
        () -> CsvDataReader.read(csv, dir, CSV));

    assertEquals(CSV + ".fields[0].columns[0]", e.field());
    assertTrue(e.getMessage().contains("infinite value in data"), e.getMessage());
    assertTrue(e.getMessage().contains("line 2, column 0"), e.getMessage());
  }

  @Test
  void fileWithOnlyAHeaderHasNoRows() throws IOException {
    Files.writeString(dir.resolve("empty.csv"), "a,b\n\n");
    CsvData csv = CsvData.newBuilder().setPath("empty.csv").setHeader(true)
        .addFields(floatField("a", 0)).build();

    InvalidSpecException e = assertThrows(InvalidSpecException.class,
        () -> CsvDataReader.read(csv, dir, CSV));

    assertEquals(CSV + ".path", e.field());
    assertTrue(e.getMessage().contains("no data rows"), e.getMessage());
  }

  @Test
  void classFieldReadsExactlyOneColumn() {
    CsvData csv = CsvData.newBuilder().setPath("any.csv").addFields(CsvField.newBuilder()
        .setName("c").addColumns(0).addColumns(1).setType("class").setClasses(2)).build();

    InvalidSpecException e = assertThrows(InvalidSpecException.class,
        () -> CsvDataReader.read(csv, dir, CSV));

    assertEquals(CSV + ".fields[0].columns", e.field());
    assertTrue(e.getMessage().contains("exactly one column, found 2"), e.getMessage());
  }

  @Test
  void readsTheNumericColumnsOfUciAdult() throws Exception {
    Path adult = sharedData().resolve("uci-adult/adult.data");
    assertTrue(Files.isRegularFile(adult), "UCI Adult not found at " + adult);
    CsvData csv = CsvData.newBuilder().setPath(adult.toString())
        .addFields(floatField("numeric", 0, 2, 4, 10, 11, 12)).build();

    DataSet data = CsvDataReader.read(csv, dir, CSV);

    // 32561 examples; the file ends with a blank line, which is skipped.
    assertEquals(32561, data.size());
    FloatField numeric = (FloatField) data.field("numeric");
    assertEquals(6, numeric.width());
    // First line: 39, State-gov, 77516, Bachelors, 13, ..., 2174, 0, 40, United-States, <=50K
    assertArrayEquals(new float[] {39, 77516, 13, 2174, 0, 40},
        Arrays.copyOfRange(numeric.values(), 0, 6));
    // Last line: 52, Self-emp-inc, 287927, HS-grad, 9, ..., 15024, 0, 40, United-States, >50K
    float[] values = numeric.values();
    assertArrayEquals(new float[] {52, 287927, 9, 15024, 0, 40},
        Arrays.copyOfRange(values, values.length - 6, values.length));
  }

  @Test
  void aQuotedCellHoldingTheDelimiterDoesNotShiftLaterColumns() throws Exception {
    Files.writeString(dir.resolve("quoted.csv"),
        "1, \"Smith, John\", 2, a\n3, plain, 4, b\n");
    CsvData csv = CsvData.newBuilder().setPath("quoted.csv")
        .addFields(floatField("numbers", 0, 2))
        .addFields(CsvField.newBuilder().setName("name").setType("category").addColumns(1))
        .addFields(CsvField.newBuilder().setName("label").setType("class").addColumns(3)
            .addLabels("a").addLabels("b"))
        .build();

    DataSet data = CsvDataReader.read(csv, dir, CSV);

    assertArrayEquals(new float[] {1f, 2f, 3f, 4f}, ((FloatField) data.field("numbers")).values());
    assertArrayEquals(new int[] {0, 1}, ((ClassField) data.field("label")).ids());
    assertEquals(List.of("Smith, John", "plain"), categories(data, "name", 0));
  }

  @Test
  void doubledQuotesInsideAQuotedCellAreOneQuote() throws Exception {
    Files.writeString(dir.resolve("escaped.csv"), "\"say \"\"hi\"\", then go\",1\n\"\"\"\",2\n");
    CsvData csv = CsvData.newBuilder().setPath("escaped.csv")
        .addFields(CsvField.newBuilder().setName("text").setType("category").addColumns(0))
        .addFields(floatField("v", 1))
        .build();

    DataSet data = CsvDataReader.read(csv, dir, CSV);

    assertEquals(List.of("say \"hi\", then go", "\""), categories(data, "text", 0));
    assertArrayEquals(new float[] {1f, 2f}, ((FloatField) data.field("v")).values());
  }

  @Test
  void aLineBreakInsideAQuotedCellStaysInTheCellAndLaterLinesKeepTheirNumbers() throws Exception {
    Files.writeString(dir.resolve("multiline.csv"),
        "text,v\n\"two\nlines\",1\n\"one\",2\n\n\"x\",oops\n");
    CsvData csv = CsvData.newBuilder().setPath("multiline.csv").setHeader(true)
        .addFields(CsvField.newBuilder().setName("text").setType("category").addColumns(0))
        .addFields(floatField("v", 1))
        .build();

    InvalidSpecException e = assertThrows(InvalidSpecException.class,
        () -> CsvDataReader.read(csv, dir, CSV));
    // Physical lines: 1 header, 2-3 the quoted cell, 4 "one", 5 blank, 6 the bad number.
    assertTrue(e.getMessage().contains("line 6, column 1"), e.getMessage());

    Files.writeString(dir.resolve("multiline.csv"), "text,v\n\"two\nlines\",1\n\"one\",2\n");
    DataSet data = CsvDataReader.read(csv, dir, CSV);
    assertEquals(List.of("two\nlines", "one"), categories(data, "text", 0));
    assertArrayEquals(new float[] {1f, 2f}, ((FloatField) data.field("v")).values());
  }

  @Test
  void aUtf8ByteOrderMarkIsSkipped() throws Exception {
    Files.write(dir.resolve("bom.csv"), "\uFEFF1.5,2\n3,4\n".getBytes(StandardCharsets.UTF_8));
    CsvData csv = CsvData.newBuilder().setPath("bom.csv").addFields(floatField("v", 0, 1)).build();

    DataSet data = CsvDataReader.read(csv, dir, CSV);

    assertArrayEquals(new float[] {1.5f, 2f, 3f, 4f}, ((FloatField) data.field("v")).values());
  }

  @Test
  void malformedQuotingIsAnErrorNamingTheLineButNotTheText() throws IOException {
    CsvData csv = CsvData.newBuilder().setPath("broken.csv").addFields(floatField("v", 0))
        .build();
    // A character after the closing quote; then a quote that is never closed.
    for (String text : List.of("1,2\n3,\"4\"secret\n5,6\n", "1,2\n3,\"secret,4\n5,6\n")) {
      Files.writeString(dir.resolve("broken.csv"), text);

      InvalidSpecException e = assertThrows(InvalidSpecException.class,
          () -> CsvDataReader.read(csv, dir, CSV));

      assertEquals(CSV + ".path", e.field());
      assertTrue(e.getMessage().contains("broken.csv line 2: malformed quoting"), e.getMessage());
      assertFalse(e.getMessage().contains("secret"), e.getMessage());
    }
  }

  @Test
  void readsUciAdultAsTheSplitOnCommasDid() throws Exception {
    // No cell of UCI Adult is quoted: the parser must read exactly what splitting each line on
    // ',' and trimming the cells read before it (the reader's behaviour until quoting came).
    for (String name : List.of("adult.data", "adult.test")) {
      Path adult = sharedData().resolve("uci-adult").resolve(name);
      assertTrue(Files.isRegularFile(adult), "UCI Adult not found at " + adult);
      int skip = name.equals("adult.test") ? 1 : 0;
      CsvData.Builder csv = CsvData.newBuilder().setPath(adult.toString()).setSkipLines(skip)
          .addFields(floatField("numeric", 0, 2, 4, 10, 11, 12))
          .addFields(CsvField.newBuilder().setName("categorical").setType("category")
              .addAllColumns(List.of(1, 3, 5, 6, 7, 8, 9, 13)))
          .addFields(CsvField.newBuilder().setName("income").setType("class").addColumns(14)
              .addLabels("<=50K").addLabels(">50K").setStripSuffix("."));

      DataSet data = CsvDataReader.read(csv.build(), dir, CSV);

      List<String[]> lines = Files.readAllLines(adult).stream().skip(skip)
          .filter(line -> !line.isBlank())
          .map(line -> Arrays.stream(line.split(",")).map(String::trim).toArray(String[]::new))
          .toList();
      assertEquals(name.equals("adult.data") ? 32561 : 16281, lines.size());
      assertEquals(lines.size(), data.size());
      float[] numeric = ((FloatField) data.field("numeric")).values();
      int[] categoryColumns = {1, 3, 5, 6, 7, 8, 9, 13};
      List<List<String>> categorical = new ArrayList<>();
      for (int j = 0; j < categoryColumns.length; j++) {
        categorical.add(categories(data, "categorical", j));
      }
      int[] income = ((ClassField) data.field("income")).ids();
      for (int i = 0; i < lines.size(); i++) {
        String[] cells = lines.get(i);
        int[] numericColumns = {0, 2, 4, 10, 11, 12};
        for (int j = 0; j < numericColumns.length; j++) {
          assertEquals(Float.parseFloat(cells[numericColumns[j]]), numeric[i * 6 + j],
              name + " row " + i);
        }
        for (int j = 0; j < categoryColumns.length; j++) {
          assertEquals(cells[categoryColumns[j]], categorical.get(j).get(i), name + " row " + i);
        }
        assertEquals(cells[14].startsWith(">") ? 1 : 0, income[i], name + " row " + i);
      }
    }
  }

  /** {@code shared/data} of the checkout: walks up from the working directory until found. */
  static Path sharedData() {
    for (Path at = Path.of("").toAbsolutePath(); at != null; at = at.getParent()) {
      for (Path candidate : List.of(at.resolve("shared/data"), at.resolveSibling("shared/data"))) {
        if (Files.isDirectory(candidate)) {
          return candidate;
        }
      }
    }
    return Path.of("shared/data");
  }

  /** The values of column {@code j} of category field {@code name}, row by row. */
  private static List<String> categories(DataSet data, String name, int j) {
    IdField field = (IdField) data.field(name);
    Vocabulary vocabulary = data.vocabularies().get(name + "[" + j + "]");
    List<String> values = new ArrayList<>();
    for (int row = 0; row < field.rows(); row++) {
      values.add(vocabulary.tokens().get(field.ids()[row * field.width() + j]));
    }
    return values;
  }

  private static CsvField.Builder floatField(String name, int... columns) {
    CsvField.Builder field = CsvField.newBuilder().setName(name).setType("float");
    for (int column : columns) {
      field.addColumns(column);
    }
    return field;
  }
}
