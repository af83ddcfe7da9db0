package tandem.model.data;

import java.util.LinkedHashMap;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntUnaryOperator;
import tandem.model.spec.InvalidSpecException;

/**
 * The built-in {@code arithmetic} data set of the modular-network example: the numbers 0-9, each
 * given in two encodings and paired with the result of one operation in two encodings, so that
 * encoders, operations and decoders can be mixed and matched across tasks.
 *
 * <p>Fields, one row per number {@code n} in 0..9:
 * <ul>
 *   <li>{@code binary}: float, width 4, the bits of {@code n}, most significant first;
 *   <li>{@code decimal}: float, width 10, one-hot of {@code n};
 *   <li>{@code number}: class, 10 classes, {@code n};
 *   <li>{@code result}: class, 20 classes, the operation applied to {@code n};
 *   <li>{@code result_bits}: float, width 5, the bits of the result, most significant first.
 * </ul>
 * Stateless; the data sets it makes are immutable.
 */
public final class ArithmeticData {

  /** Name of this data set in {@code BuiltinData.name}. */
  public static final String NAME = "arithmetic";

  /** The option that picks the operation. */
  public static final String OPERATION_OPTION = "operation";

  /** The operation option's value for every number through every encoder and operation. */
  public static final String ROUTED = "routed";

  private static final int NUMBERS = 10;
  private static final int INPUT_BITS = 4;
  private static final int RESULT_CLASSES = 20;
  private static final int RESULT_BITS = 5;

  /** What the result field holds for input {@code n}; every result fits in [0, 20). */
  public enum Operation {
    PLUS1("plus1", n -> n + 1),
    TIMES2("times2", n -> 2 * n);

    private final String specName;
    private final IntUnaryOperator function;

    Operation(String specName, IntUnaryOperator function) {
      this.specName = specName;
      this.function = function;
    }

    /** The option value naming this operation, e.g. {@code plus1}. */
    public String specName() {
      return specName;
    }

    /** The result for input {@code n}. */
    public int apply(int n) {
      return function.applyAsInt(n);
    }

    /** The operation an option value names. */
    public static Optional<Operation> named(String name) {
      for (Operation operation : values()) {
        if (operation.specName.equals(name)) {
          return Optional.of(operation);
        }
      }
      return Optional.empty();
    }

    /** Every option value, for error messages. */
    public static List<String> names() {
      return Arrays.stream(values()).map(Operation::specName).toList();
    }
  }

  private ArithmeticData() {}

  /**
   * The data set the builtin options describe. {@code optionsPath} is the options' field path in
   * the spec (e.g. {@code tasks[0].data.builtin.options}), used to name the offending option.
   */
  public static DataSet fromOptions(Map<String, String> options, String optionsPath)
      throws InvalidSpecException {
    for (String key : options.keySet()) {
      if (!key.equals(OPERATION_OPTION)) {
        throw new InvalidSpecException(optionsPath + "." + key, "unknown option '" + key
            + "' for the " + NAME + " data set; its only option is '" + OPERATION_OPTION + "'");
      }
    }
    String field = optionsPath + "." + OPERATION_OPTION;
    String value = options.get(OPERATION_OPTION);
    if (value == null || value.isEmpty()) {
      throw new InvalidSpecException(field, "the " + NAME + " data set needs option '"
          + OPERATION_OPTION + "', one of " + Operation.names());
    }
    if (value.equals(ROUTED)) {
      return routed();
    }
    Operation operation = Operation.named(value).orElseThrow(() -> new InvalidSpecException(field,
        "unknown operation '" + value + "'; expected one of " + Operation.names() + " or "
            + ROUTED));
    return create(operation);
  }

  /** The ten examples for {@code operation}. */
  public static DataSet create(Operation operation) {
    float[] binary = new float[NUMBERS * INPUT_BITS];
    float[] decimal = new float[NUMBERS * NUMBERS];
    int[] number = new int[NUMBERS];
    int[] result = new int[NUMBERS];
    float[] resultBits = new float[NUMBERS * RESULT_BITS];
    for (int n = 0; n < NUMBERS; n++) {
      int r = operation.apply(n);
      writeBits(n, binary, n * INPUT_BITS, INPUT_BITS);
      decimal[n * NUMBERS + n] = 1f;
      number[n] = n;
      result[n] = r;
      writeBits(r, resultBits, n * RESULT_BITS, RESULT_BITS);
    }
    Map<String, Field> fields = new LinkedHashMap<>();
    fields.put("binary", new FloatField(binary, NUMBERS, INPUT_BITS));
    fields.put("decimal", new FloatField(decimal, NUMBERS, NUMBERS));
    fields.put("number", new ClassField(number, NUMBERS));
    fields.put("result", new ClassField(result, RESULT_CLASSES));
    fields.put("result_bits", new FloatField(resultBits, NUMBERS, RESULT_BITS));
    return new DataSet(NAME + ":" + operation.specName(), fields);
  }

  /**
   * The 40 examples of the routed arithmetic problem: every number through each encoder and each
   * operation, with the fields of {@link #create} plus route fields {@code encoder} (class 0:
   * binary, 1: decimal) and {@code operation} (class 0: plus1, 1: times2).
   */
  public static DataSet routed() {
    int rows = NUMBERS * 2 * Operation.values().length;
    float[] binary = new float[rows * INPUT_BITS];
    float[] decimal = new float[rows * NUMBERS];
    int[] number = new int[rows];
    int[] encoder = new int[rows];
    int[] operationIds = new int[rows];
    int[] result = new int[rows];
    float[] resultBits = new float[rows * RESULT_BITS];
    int row = 0;
    for (Operation operation : Operation.values()) {
      for (int route = 0; route < 2; route++) {
        for (int n = 0; n < NUMBERS; n++) {
          int r = operation.apply(n);
          writeBits(n, binary, row * INPUT_BITS, INPUT_BITS);
          decimal[row * NUMBERS + n] = 1f;
          number[row] = n;
          encoder[row] = route;
          operationIds[row] = operation.ordinal();
          result[row] = r;
          writeBits(r, resultBits, row * RESULT_BITS, RESULT_BITS);
          row++;
        }
      }
    }
    Map<String, Field> fields = new LinkedHashMap<>();
    fields.put("binary", new FloatField(binary, rows, INPUT_BITS));
    fields.put("decimal", new FloatField(decimal, rows, NUMBERS));
    fields.put("number", new ClassField(number, NUMBERS));
    fields.put("encoder", new ClassField(encoder, 2));
    fields.put("operation", new ClassField(operationIds, Operation.values().length));
    fields.put("result", new ClassField(result, RESULT_CLASSES));
    fields.put("result_bits", new FloatField(resultBits, rows, RESULT_BITS));
    return new DataSet(NAME + ":" + ROUTED, fields);
  }

  private static void writeBits(int value, float[] out, int offset, int width) {
    for (int bit = 0; bit < width; bit++) {
      out[offset + bit] = (value >> (width - 1 - bit)) & 1;
    }
  }
}
