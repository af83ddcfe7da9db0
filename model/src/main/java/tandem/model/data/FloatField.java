package tandem.model.data;

/**
 * Float features or targets, row-major: {@code values[row * width + column]}. Immutable by
 * convention: the array is never written after construction.
 */
public record FloatField(float[] values, int rows, int width) implements Field {

  public FloatField {
    if (rows < 0 || width <= 0 || values.length != (long) rows * width) {
      throw new IllegalArgumentException(
          "expected " + rows + " x " + width + " values, found " + values.length);
    }
  }
}
