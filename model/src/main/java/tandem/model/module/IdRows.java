package tandem.model.module;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Row lookups of embedding tables by integer id (gather) and their gradient (scatter-add, where
 * repeated ids add up), on ND4J ops. Ids arrive as floats in batches; {@link #ids} reads and checks
 * them. Stateless.
 */
final class IdRows {

  private IdRows() {}

  /**
   * Column {@code column} of {@code input} as ids, each checked against {@code [0, vocabulary)};
   * a bad id fails naming the module, the row and the column.
   */
  static int[] ids(INDArray input, int column, int vocabulary, String module) {
    double[] values = input.getColumn(column).toDoubleVector();
    int[] ids = new int[values.length];
    for (int row = 0; row < values.length; row++) {
      double value = values[row];
      int id = (int) value;
      if (id != value || id < 0 || id >= vocabulary) {
        throw new IllegalArgumentException(module + ": row " + row + ", column " + column
            + " holds id " + value + ", outside the vocabulary [0, " + vocabulary + ")");
      }
      ids[row] = id;
    }
    return ids;
  }

  /** {@code out[i] = table[ids[i]]} for every row {@code i} of {@code out}. */
  static void gatherInto(INDArray table, int[] ids, INDArray out) {
    out.assign(Nd4j.pullRows(table, 1, ids));
  }

  /** {@code tableGradient[ids[i]] += rows[i]} for every row {@code i}, repeated ids adding up. */
  static void scatterAddInPlace(INDArray tableGradient, int[] ids, INDArray rows) {
    INDArray indices = Nd4j.createFromArray(ids).castTo(DataType.INT32);
    Nd4j.exec(DynamicCustomOp.builder("scatter_add")
        .addInputs(tableGradient, indices, rows.dup('c'))
        .addOutputs(tableGradient)
        .build());
  }
}
