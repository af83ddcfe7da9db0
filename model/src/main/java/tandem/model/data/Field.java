package tandem.model.data;

/** One named column group of a {@link DataSet}: every field of a data set has the same rows. */
public sealed interface Field permits FloatField, ClassField, IdField {

  /** Number of examples. */
  int rows();

  /**
   * Width of the array this field becomes in a {@link Batch}: the float width, the number of
   * classes (class fields are one-hot encoded in batches), or the id columns.
   */
  int width();
}
