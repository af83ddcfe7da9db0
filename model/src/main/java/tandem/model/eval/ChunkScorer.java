package tandem.model.eval;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Chunk-level scoring of IOB2 tag sequences with the semantics of the CoNLL-2000 shared task's
 * {@code conlleval} script (Tjong Kim Sang and Buchholz, 2000): a chunk starts at a {@code B-X},
 * and also at an {@code I-X} that does not continue a chunk of type X (after {@code O}, after
 * another type, or at a sentence start); it ends before {@code O}, before a {@code B-}, before a
 * tag of another type, and at the end of its sentence. A predicted chunk is correct when a gold
 * chunk has the same type, start and end. Tags are given by id with their names (the chunk
 * vocabulary); tags that are neither {@code O} nor {@code B-}/{@code I-} prefixed are refused
 * up front. Immutable and thread-safe.
 */
public final class ChunkScorer {

  /** The name of the metric in specs and evaluation events. */
  public static final String METRIC = "chunk_f1";

  /** A chunk: its type and its tokens {@code [start, end)} within the scored sequence. */
  public record Chunk(String type, int start, int end) {}

  private final List<String> tags;
  private final char[] prefixes;
  private final String[] types;

  /** A scorer of tag ids {@code 0 .. tags.size() - 1}, named by {@code tags} ({@code B-NP}, …). */
  public ChunkScorer(List<String> tags) {
    this.tags = List.copyOf(tags);
    this.prefixes = new char[tags.size()];
    this.types = new String[tags.size()];
    for (int id = 0; id < tags.size(); id++) {
      String tag = tags.get(id);
      if (tag.equals("O")) {
        prefixes[id] = 'O';
        types[id] = "";
      } else if ((tag.startsWith("B-") || tag.startsWith("I-")) && tag.length() > 2) {
        prefixes[id] = tag.charAt(0);
        types[id] = tag.substring(2);
      } else {
        throw new IllegalArgumentException("expected IOB2 chunk tags (O, B-X, I-X), found '"
            + tag + "' (id " + id + ") in " + tags);
      }
    }
  }

  /** Whether every name in {@code tags} is an IOB2 chunk tag ({@code O}, {@code B-X}, {@code I-X}). */
  public static boolean isIob2(List<String> tags) {
    return tags.stream().allMatch(tag -> tag.equals("O")
        || (tag.startsWith("B-") || tag.startsWith("I-")) && tag.length() > 2);
  }

  public List<String> tags() {
    return tags;
  }

  /**
   * Scores {@code predicted} against {@code gold} (tag ids, one per token, sentences back to
   * back); {@code sentenceStarts} holds the index of each sentence's first token, ascending,
   * starting with 0 (empty: one sentence).
   */
  public ChunkScore score(int[] gold, int[] predicted, int[] sentenceStarts) {
    if (gold.length != predicted.length) {
      throw new IllegalArgumentException("expected as many predicted tags as gold tags ("
          + gold.length + "), found " + predicted.length);
    }
    checkStarts(sentenceStarts, gold.length);
    long goldCount = 0;
    long predictedCount = 0;
    long correct = 0;
    int sentences = Math.max(1, sentenceStarts.length);
    for (int s = 0; s < sentences; s++) {
      int from = sentenceStarts.length == 0 ? 0 : sentenceStarts[s];
      int to = s + 1 < sentenceStarts.length ? sentenceStarts[s + 1] : gold.length;
      List<Chunk> goldChunks = chunks(gold, from, to);
      Set<Chunk> goldSet = new HashSet<>(goldChunks);
      List<Chunk> predictedChunks = chunks(predicted, from, to);
      goldCount += goldChunks.size();
      predictedCount += predictedChunks.size();
      for (Chunk chunk : predictedChunks) {
        if (goldSet.contains(chunk)) {
          correct++;
        }
      }
    }
    return new ChunkScore(goldCount, predictedCount, correct);
  }

  /** The chunks of one sentence's tag ids {@code ids[from, to)}, positions relative to the array. */
  public List<Chunk> chunks(int[] ids, int from, int to) {
    List<Chunk> chunks = new ArrayList<>();
    int start = -1;
    String type = "";
    for (int i = from; i < to; i++) {
      int id = ids[i];
      if (id < 0 || id >= prefixes.length) {
        throw new IllegalArgumentException("tag id " + id + " at position " + i
            + " is outside [0, " + prefixes.length + ")");
      }
      char prefix = prefixes[id];
      boolean continues = prefix == 'I' && start >= 0 && types[id].equals(type);
      if (start >= 0 && !continues) {
        chunks.add(new Chunk(type, start, i));
        start = -1;
      }
      if (prefix != 'O' && !continues) {
        start = i;
        type = types[id];
      }
    }
    if (start >= 0) {
      chunks.add(new Chunk(type, start, to));
    }
    return chunks;
  }

  private static void checkStarts(int[] starts, int length) {
    for (int s = 0; s < starts.length; s++) {
      boolean ordered = s == 0 ? starts[0] == 0 : starts[s] > starts[s - 1];
      if (!ordered || starts[s] >= length && length > 0) {
        throw new IllegalArgumentException("expected sentence starts ascending from 0 and below "
            + length + ", found " + java.util.Arrays.toString(starts));
      }
    }
  }
}
