package tandem.model.data;

import java.io.Serializable;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Tokens (words, characters, category values) and their ids: the id of a token is its index in
 * {@link #tokens()}. Built from training data and kept with the model, so that evaluation data and
 * later inference map text to the same ids; {@link #unknownId()} stands for tokens it has not seen
 * ({@code -1} when the vocabulary has none). Immutable and serialisable.
 */
public record Vocabulary(List<String> tokens, int unknownId) implements Serializable {

  private static final long serialVersionUID = 1L;

  public Vocabulary {
    tokens = List.copyOf(tokens);
    if (unknownId < -1 || unknownId >= tokens.size()) {
      throw new IllegalArgumentException("unknown id " + unknownId + " outside the "
          + tokens.size() + " tokens");
    }
  }

  /** Number of ids. */
  public int size() {
    return tokens.size();
  }

  /** The id of {@code token}, or {@link #unknownId()} (-1 if there is none) when it is absent. */
  public int idOf(String token) {
    Integer id = index().get(token);
    return id == null ? unknownId : id;
  }

  // Rebuilt on demand (records cannot hold derived caches); callers map many tokens through
  // a Builder or a Lookup instead.
  private Map<String, Integer> index() {
    Map<String, Integer> index = new HashMap<>();
    for (int i = 0; i < tokens.size(); i++) {
      index.putIfAbsent(tokens.get(i), i);
    }
    return index;
  }

  /** A fast token-to-id map over this vocabulary; confined to one thread. */
  public Lookup lookup() {
    return new Lookup(this, index());
  }

  /** Maps tokens to ids with a prebuilt index. */
  public record Lookup(Vocabulary vocabulary, Map<String, Integer> index) {
    /** The id of {@code token}, or the vocabulary's unknown id (-1 if none). */
    public int idOf(String token) {
      Integer id = index.get(token);
      return id == null ? vocabulary.unknownId() : id;
    }
  }
}
