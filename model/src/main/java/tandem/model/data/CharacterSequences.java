package tandem.model.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Character vocabularies and id sequences for sequence tasks. Ids: 0 padding, 1 end of sequence,
 * 2 unknown character, then the characters. Encoder inputs are the characters padded with 0;
 * decoder targets are the characters, the end id, then padding. Stateless.
 */
public final class CharacterSequences {

  public static final int PADDING = 0;
  public static final int END = 1;
  public static final int UNKNOWN = 2;

  private CharacterSequences() {}

  /** A vocabulary of the characters of {@code texts}, sorted, after the three reserved ids. */
  public static Vocabulary vocabulary(Iterable<String> texts) {
    SortedSet<Character> characters = new TreeSet<>();
    for (String text : texts) {
      for (char c : text.toCharArray()) {
        characters.add(c);
      }
    }
    List<String> tokens = new ArrayList<>(List.of("<pad>", "<end>", "<unk>"));
    characters.forEach(c -> tokens.add(String.valueOf(c)));
    return new Vocabulary(tokens, UNKNOWN);
  }

  /**
   * Writes {@code text}'s ids into {@code out[offset, offset + width)}, then the end id when
   * {@code withEnd}, then padding. The caller has checked that it fits.
   */
  public static void write(String text, Vocabulary.Lookup lookup, boolean withEnd, int[] out,
      int offset, int width) {
    int t = 0;
    for (; t < text.length(); t++) {
      out[offset + t] = lookup.idOf(String.valueOf(text.charAt(t)));
    }
    if (withEnd) {
      out[offset + t++] = END;
    }
    for (; t < width; t++) {
      out[offset + t] = PADDING;
    }
  }

  /** The text an id sequence spells, up to its end or first padding id. */
  public static String read(int[] ids, Vocabulary vocabulary) {
    StringBuilder text = new StringBuilder();
    for (int id : ids) {
      if (id == END || id == PADDING) {
        break;
      }
      text.append(id == UNKNOWN ? "?" : vocabulary.tokens().get(id));
    }
    return text.toString();
  }
}
