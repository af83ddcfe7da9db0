package tandem.model.data;

/** Integer class ids in {@code [0, classes)}, one per row. Immutable by convention. */
public record ClassField(int[] ids, int classes) implements Field {

  public ClassField {
    if (classes <= 0) {
      throw new IllegalArgumentException("expected a positive class count, found " + classes);
    }
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= classes) {
        throw new IllegalArgumentException(
            "row " + i + ": class id " + ids[i] + " outside [0, " + classes + ")");
      }
    }
  }

  @Override
  public int rows() {
    return ids.length;
  }

  @Override
  public int width() {
    return classes;
  }
}
