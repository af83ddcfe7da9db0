package tandem.orchestrator.admission;

import java.util.regex.Pattern;

/**
 * Model and task names, and how client text is quoted back. Names become map keys, parts of
 * messages and of exported bundles, so they follow one documented pattern: a letter or digit,
 * then letters, digits, {@code _}, {@code -} and {@code .}, at most {@code name-chars}
 * characters. Client text in a status message is cut to {@value #EXCERPT_CHARS} characters: a
 * 1 MB name echoed whole turned the real error into RESOURCE_EXHAUSTED (the message no longer
 * fit the trailers). Stateless.
 */
public final class Names {

  /** Characters of client text quoted in a status message. */
  public static final int EXCERPT_CHARS = 64;
  public static final Pattern PATTERN = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]*");

  private Names() {}

  /** What is wrong with {@code name}, or null if nothing is. */
  public static String problem(String name, int maxChars) {
    if (name.isEmpty()) {
      return null; // whether a name is required is the compiler's business
    }
    if (name.length() > maxChars) {
      return "expected at most " + maxChars + " characters, found " + name.length()
          + " (" + LimitSettings.PREFIX + "name-chars)";
    }
    if (!PATTERN.matcher(name).matches()) {
      return "expected a name of letters, digits, '_', '-' and '.' starting with a letter or "
          + "digit, found " + quote(name);
    }
    return null;
  }

  /** Characters of a whole status message, whatever it quotes. */
  public static final int MESSAGE_CHARS = 1024;

  /**
   * {@code message} cut to {@value #MESSAGE_CHARS} characters: the last guard against client text
   * quoted whole by a check that did not cut it itself.
   */
  public static String cap(String message) {
    if (message == null || message.length() <= MESSAGE_CHARS) {
      return message;
    }
    return message.substring(0, MESSAGE_CHARS) + "… (" + message.length() + " characters)";
  }

  /** {@code text} in quotes, cut to {@value #EXCERPT_CHARS} characters with its length. */
  public static String quote(String text) {
    if (text.length() <= EXCERPT_CHARS) {
      return "'" + text + "'";
    }
    return "'" + text.substring(0, EXCERPT_CHARS) + "…' (" + text.length() + " characters)";
  }
}
