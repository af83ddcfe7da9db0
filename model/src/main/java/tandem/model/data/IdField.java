package tandem.model.data;

import java.util.Arrays;

/**
 * Integer ids for embeddings and sequence modules, row-major: {@code ids[row * width + column]}.
 * Each column has its own vocabulary size (ids of column {@code c} lie in
 * {@code [0, vocabularySizes[c])}); in a {@link Batch} the ids become floats, one per column.
 * Sequence fields are id fields whose columns are time steps, padded with id 0 at the end.
 * Immutable by convention: the arrays are never written after construction.
 */
public record IdField(int[] ids, int rows, int width, int[] vocabularySizes) implements Field {

  public IdField {
    if (rows < 0 || width <= 0 || ids.length != (long) rows * width) {
      throw new IllegalArgumentException(
          "expected " + rows + " x " + width + " ids, found " + ids.length);
    }
    if (vocabularySizes.length != width) {
      throw new IllegalArgumentException("expected a vocabulary size per column (" + width
          + "), found " + vocabularySizes.length);
    }
    for (int i = 0; i < ids.length; i++) {
      int column = i % width;
      if (ids[i] < 0 || ids[i] >= vocabularySizes[column]) {
        throw new IllegalArgumentException("row " + i / width + ", column " + column + ": id "
            + ids[i] + " outside the vocabulary [0, " + vocabularySizes[column] + ")");
      }
    }
  }

  /** An id field whose columns all share one vocabulary size. */
  public static IdField uniform(int[] ids, int rows, int width, int vocabularySize) {
    int[] sizes = new int[width];
    Arrays.fill(sizes, vocabularySize);
    return new IdField(ids, rows, width, sizes);
  }

  /** The largest vocabulary size of any column. */
  public int maxVocabularySize() {
    return Arrays.stream(vocabularySizes).max().orElse(0);
  }
}
