package tandem.model.data;

/** One named column group of a {@link DataSet}: every field of a data set has the same rows. */
public sealed interface Field permits FloatField, ClassField {

  /** Number of examples. */
  int rows();

  /**
   * Width of the array this field becomes in a {@link Batch}: the float width, or the number of
   * classes (class fields are one-hot encoded in batches).
   */
  int width();
}
