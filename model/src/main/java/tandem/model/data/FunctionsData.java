package tandem.model.data;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import tandem.model.spec.InvalidSpecException;
import tandem.model.train.Seeds;

/**
 * The built-in {@code functions} data set: many different functions of the same inputs, one per
 * task, for models with one trunk and many heads. Every function sees the same {@code examples}
 * inputs {@code x}, uniform in [-1, 1]^8 (drawn from a fixed seed), and function {@code k} is
 * {@code y = sin(w_k . x + b_k)} with {@code w_k} and {@code b_k} drawn from a seed derived from
 * {@code k}, so that a shared trunk can learn features every head reads.
 *
 * <p>Fields: {@code x} (float, width 8) and {@code y} (float, width 1). Options:
 * {@code function} (required, an integer >= 0) and {@code examples} (default 256). Stateless;
 * the data sets it makes are immutable.
 */
public final class FunctionsData {

  /** Name of this data set in {@code BuiltinData.name}. */
  public static final String NAME = "functions";

  /** Width of the input field {@code x}. */
  public static final int INPUT_WIDTH = 8;

  private static final int DEFAULT_EXAMPLES = 256;
  private static final long INPUT_SEED = 20_240_601L;

  private FunctionsData() {}

  /** The data set the builtin options describe; errors name the option. */
  public static DataSet fromOptions(Map<String, String> options, String optionsPath)
      throws InvalidSpecException {
    for (String key : options.keySet()) {
      if (!key.equals("function") && !key.equals("examples")) {
        throw new InvalidSpecException(optionsPath + "." + key, "unknown option '" + key
            + "' for the " + NAME + " data set; its options are 'function' and 'examples'");
      }
    }
    int function = integer(options.get("function"), -1, optionsPath + ".function");
    if (function < 0) {
      throw new InvalidSpecException(optionsPath + ".function", "the " + NAME
          + " data set needs option 'function', an integer >= 0");
    }
    int examples = integer(options.get("examples"), DEFAULT_EXAMPLES, optionsPath + ".examples");
    if (examples <= 0) {
      throw new InvalidSpecException(optionsPath + ".examples",
          "expected a positive number of examples, found " + examples);
    }
    return create(function, examples);
  }

  /** {@code examples} rows of function {@code function}. */
  public static DataSet create(int function, int examples) {
    float[] x = inputs(examples);
    SplittableRandom random = new SplittableRandom(Seeds.derive(INPUT_SEED, "function/" + function));
    double[] w = new double[INPUT_WIDTH];
    for (int j = 0; j < INPUT_WIDTH; j++) {
      w[j] = random.nextGaussian() * 1.5 / Math.sqrt(INPUT_WIDTH);
    }
    double b = random.nextDouble(-1, 1);
    float[] y = new float[examples];
    for (int i = 0; i < examples; i++) {
      double z = b;
      for (int j = 0; j < INPUT_WIDTH; j++) {
        z += w[j] * x[i * INPUT_WIDTH + j];
      }
      y[i] = (float) Math.sin(z);
    }
    Map<String, Field> fields = new LinkedHashMap<>();
    fields.put("x", new FloatField(x, examples, INPUT_WIDTH));
    fields.put("y", new FloatField(y, examples, 1));
    return new DataSet(NAME + ":" + function, fields);
  }

  /** The inputs every function shares, row-major {@code [examples, 8]}. */
  public static float[] inputs(int examples) {
    SplittableRandom random = new SplittableRandom(INPUT_SEED);
    float[] x = new float[examples * INPUT_WIDTH];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) random.nextDouble(-1, 1);
    }
    return x;
  }

  private static int integer(String value, int fallback, String field)
      throws InvalidSpecException {
    if (value == null || value.isEmpty()) {
      return fallback;
    }
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new InvalidSpecException(field, "expected an integer, found '" + value + "'");
    }
  }
}
