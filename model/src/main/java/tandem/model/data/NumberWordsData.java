package tandem.model.data;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import tandem.model.spec.InvalidSpecException;

/**
 * The built-in {@code number_words} data set of the shared-decoder example: whole numbers as digit
 * strings (B, e.g. {@code "402"}) and as English words (A, {@code "four hundred two"}). Fields:
 * {@code digits} and {@code words} (character sequences for encoders, widths
 * {@link #DIGITS_WIDTH} and {@link #WORDS_WIDTH}) and {@code digits_target} (the digits then the
 * end id, width {@code DIGITS_WIDTH + 1}, for decoders), all over one fixed character vocabulary
 * of {@link #VOCABULARY_SIZE} ids ({@link CharacterSequences}). Options pick which numbers: a
 * seeded shuffle of {@code [from, to]}, the first {@code skip} dropped (to hold them out), then
 * {@code count} taken. Stateless; the data sets it makes are immutable.
 */
public final class NumberWordsData {

  public static final String NAME = "number_words";
  /** Characters of the longest digit string (numbers up to 999). */
  public static final int DIGITS_WIDTH = 3;
  /** Characters of the longest number in words up to 999 ("seven hundred seventy seven" is 27). */
  public static final int WORDS_WIDTH = 28;
  private static final Vocabulary VOCABULARY = CharacterSequences.vocabulary(
      List.of("0123456789 abcdefghijklmnopqrstuvwxyz"));
  /** Ids of the character vocabulary: padding, end, unknown, digits, space, letters. */
  public static final int VOCABULARY_SIZE = VOCABULARY.size();

  private static final Set<String> OPTIONS = Set.of("from", "to", "count", "seed", "skip");
  private static final String[] ONES = {"zero", "one", "two", "three", "four", "five", "six",
      "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
      "sixteen", "seventeen", "eighteen", "nineteen"};
  private static final String[] TENS = {"", "", "twenty", "thirty", "forty", "fifty", "sixty",
      "seventy", "eighty", "ninety"};

  private NumberWordsData() {}

  /** {@code n} in English words, e.g. 402 is "four hundred two"; 0 <= n <= 999. */
  public static String words(int n) {
    if (n < 20) {
      return ONES[n];
    }
    if (n < 100) {
      return TENS[n / 10] + (n % 10 == 0 ? "" : " " + ONES[n % 10]);
    }
    return ONES[n / 100] + " hundred" + (n % 100 == 0 ? "" : " " + words(n % 100));
  }

  /** The data set the builtin options describe; {@code optionsPath} names them in errors. */
  public static DataSet fromOptions(Map<String, String> options, String optionsPath)
      throws InvalidSpecException {
    for (String key : options.keySet()) {
      if (!OPTIONS.contains(key)) {
        throw new InvalidSpecException(optionsPath + "." + key, "unknown option '" + key
            + "' for the " + NAME + " data set; expected one of " + OPTIONS);
      }
    }
    int from = option(options, "from", 0, optionsPath);
    int to = option(options, "to", 999, optionsPath);
    if (from < 0 || to > 999 || from > to) {
      throw new InvalidSpecException(optionsPath + ".to", "expected 0 <= from <= to <= 999, "
          + "found from " + from + ", to " + to);
    }
    int skip = option(options, "skip", 0, optionsPath);
    int available = to - from + 1 - skip;
    int count = option(options, "count", available, optionsPath);
    if (skip < 0 || count <= 0 || count > available) {
      throw new InvalidSpecException(optionsPath + ".count", "expected 1 to " + available
          + " numbers after skipping " + skip + " of [" + from + ", " + to + "], found " + count);
    }
    long seed = option(options, "seed", 0, optionsPath);
    List<Integer> numbers = new ArrayList<>();
    for (int n = from; n <= to; n++) {
      numbers.add(n);
    }
    SplittableRandom random = new SplittableRandom(seed);
    for (int i = numbers.size() - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      numbers.set(i, numbers.set(j, numbers.get(i)));
    }
    return create(numbers.subList(skip, skip + count));
  }

  /** One example per number, in order. */
  public static DataSet create(List<Integer> numbers) {
    int rows = numbers.size();
    int[] digits = new int[rows * DIGITS_WIDTH];
    int[] words = new int[rows * WORDS_WIDTH];
    int[] target = new int[rows * (DIGITS_WIDTH + 1)];
    Vocabulary.Lookup lookup = VOCABULARY.lookup();
    for (int i = 0; i < rows; i++) {
      String digitText = Integer.toString(numbers.get(i));
      CharacterSequences.write(digitText, lookup, false, digits, i * DIGITS_WIDTH, DIGITS_WIDTH);
      CharacterSequences.write(words(numbers.get(i)), lookup, false, words, i * WORDS_WIDTH,
          WORDS_WIDTH);
      CharacterSequences.write(digitText, lookup, true, target, i * (DIGITS_WIDTH + 1),
          DIGITS_WIDTH + 1);
    }
    Map<String, Field> fields = new LinkedHashMap<>();
    fields.put("digits", IdField.uniform(digits, rows, DIGITS_WIDTH, VOCABULARY_SIZE));
    fields.put("words", IdField.uniform(words, rows, WORDS_WIDTH, VOCABULARY_SIZE));
    fields.put("digits_target", IdField.uniform(target, rows, DIGITS_WIDTH + 1, VOCABULARY_SIZE));
    return new DataSet(NAME, fields, Map.of(TextPairReader.VOCABULARY, VOCABULARY));
  }

  private static int option(Map<String, String> options, String key, int fallback,
      String optionsPath) throws InvalidSpecException {
    String value = options.get(key);
    if (value == null || value.isEmpty()) {
      return fallback;
    }
    try {
      return Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw new InvalidSpecException(optionsPath + "." + key,
          "expected an integer, found '" + value + "'");
    }
  }
}
