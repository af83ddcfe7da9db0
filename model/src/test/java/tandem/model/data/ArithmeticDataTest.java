package tandem.model.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tandem.model.spec.InvalidSpecException;

class ArithmeticDataTest {

  private static final String OPTIONS = "tasks[0].data.builtin.options";

  @Test
  void plus1HasTheDocumentedFieldsAndValues() throws Exception {
    DataSet data = ArithmeticData.fromOptions(Map.of("operation", "plus1"), OPTIONS);

    assertEquals(10, data.size());
    assertEquals(List.of("binary", "decimal", "number", "result", "result_bits"),
        List.copyOf(data.fieldNames()));
    FloatField binary = (FloatField) data.field("binary");
    assertEquals(4, binary.width());
    // n = 6 is 0110, n = 9 is 1001, most significant bit first.
    assertArrayEquals(new float[] {0, 1, 1, 0}, row(binary, 6));
    assertArrayEquals(new float[] {1, 0, 0, 1}, row(binary, 9));
    FloatField decimal = (FloatField) data.field("decimal");
    assertEquals(10, decimal.width());
    assertArrayEquals(new float[] {0, 0, 0, 1, 0, 0, 0, 0, 0, 0}, row(decimal, 3));
    ClassField number = (ClassField) data.field("number");
    assertEquals(10, number.classes());
    assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, number.ids());
    ClassField result = (ClassField) data.field("result");
    assertEquals(20, result.classes());
    assertArrayEquals(new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, result.ids());
    FloatField resultBits = (FloatField) data.field("result_bits");
    assertEquals(5, resultBits.width());
    // 9 + 1 = 10 is 01010.
    assertArrayEquals(new float[] {0, 1, 0, 1, 0}, row(resultBits, 9));
    assertArrayEquals(new float[] {0, 0, 0, 0, 1}, row(resultBits, 0));
  }

  @Test
  void times2DoublesTheResult() {
    DataSet data = ArithmeticData.create(ArithmeticData.Operation.TIMES2);

    ClassField result = (ClassField) data.field("result");
    assertArrayEquals(new int[] {0, 2, 4, 6, 8, 10, 12, 14, 16, 18}, result.ids());
    FloatField resultBits = (FloatField) data.field("result_bits");
    // 2 * 9 = 18 is 10010; 2 * 7 = 14 is 01110.
    assertArrayEquals(new float[] {1, 0, 0, 1, 0}, row(resultBits, 9));
    assertArrayEquals(new float[] {0, 1, 1, 1, 0}, row(resultBits, 7));
    // The inputs do not depend on the operation.
    assertArrayEquals(new float[] {0, 1, 1, 1}, row((FloatField) data.field("binary"), 7));
  }

  @Test
  void unknownOperationNamesTheOptionAndListsTheKnownOnes() {
    InvalidSpecException e = assertThrows(InvalidSpecException.class,
        () -> ArithmeticData.fromOptions(Map.of("operation", "minus1"), OPTIONS));

    assertEquals(OPTIONS + ".operation", e.field());
    assertTrue(e.getMessage().contains("minus1"), e.getMessage());
    assertTrue(e.getMessage().contains("[plus1, times2]"), e.getMessage());
  }

  @Test
  void missingOperationIsRequired() {
    InvalidSpecException e = assertThrows(InvalidSpecException.class,
        () -> ArithmeticData.fromOptions(Map.of(), OPTIONS));

    assertEquals(OPTIONS + ".operation", e.field());
    assertTrue(e.getMessage().contains("needs option 'operation'"), e.getMessage());
  }

  @Test
  void unknownOptionKeyIsNamed() {
    InvalidSpecException e = assertThrows(InvalidSpecException.class,
        () -> ArithmeticData.fromOptions(Map.of("operation", "plus1", "digits", "3"), OPTIONS));

    assertEquals(OPTIONS + ".digits", e.field());
    assertTrue(e.getMessage().contains("unknown option 'digits'"), e.getMessage());
  }

  private static float[] row(FloatField field, int row) {
    return Arrays.copyOfRange(field.values(), row * field.width(), (row + 1) * field.width());
  }
}
