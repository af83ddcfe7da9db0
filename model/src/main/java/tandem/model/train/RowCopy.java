package tandem.model.train;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Row gathers and scatters between 2-d arrays of any order, as one loop over the arrays' native
 * buffers with their strides. ND4J's {@code pullRows} only gathers into row-major arrays, and the
 * dense modules work in column-major ones; mixing the two orders sent element-wise ops down a
 * strided path that cost a routed step 25-35% over an unrouted one. Stateless.
 */
final class RowCopy {

  private RowCopy() {}

  /** {@code target[i] = source[rows[i]]} for every i; {@code target} has {@code rows.length} rows. */
  static void gather(INDArray source, int[] rows, INDArray target) {
    copy(source, rows, target, false);
  }

  /** {@code target[rows[i]] = source[i]} for every i; other rows of {@code target} are untouched. */
  static void scatter(INDArray source, int[] rows, INDArray target) {
    copy(source, rows, target, true);
  }

  private static void copy(INDArray source, int[] rows, INDArray target, boolean scatter) {
    long columns = source.size(1);
    if (target.size(1) != columns || (scatter ? source : target).size(0) != rows.length) {
      throw new IllegalArgumentException("expected " + rows.length + " rows of " + columns
          + " columns, found source " + java.util.Arrays.toString(source.shape()) + " and target "
          + java.util.Arrays.toString(target.shape()));
    }
    long sourceRow = source.stride(0);
    long sourceColumn = source.stride(1);
    long targetRow = target.stride(0);
    long targetColumn = target.stride(1);
    if (source.dataType() == DataType.FLOAT && target.dataType() == DataType.FLOAT) {
      FloatBuffer from = source.data().asNioFloat();
      FloatBuffer to = target.data().asNioFloat();
      long sourceBase = source.offset();
      long targetBase = target.offset();
      if (sourceColumn == 1 && targetColumn == 1) {
        // Row-major on both sides: each row is one block copy.
        float[] row = new float[(int) columns];
        for (int i = 0; i < rows.length; i++) {
          from.get((int) (sourceBase + (scatter ? i : rows[i]) * sourceRow), row);
          to.put((int) (targetBase + (scatter ? rows[i] : i) * targetRow), row);
        }
        return;
      }
      if (sourceRow == 1 && targetRow == 1) {
        // Column-major on both sides: walk each column, so reads and writes stay local.
        for (long c = 0; c < columns; c++) {
          long s = sourceBase + c * sourceColumn;
          long t = targetBase + c * targetColumn;
          for (int i = 0; i < rows.length; i++) {
            to.put((int) (t + (scatter ? rows[i] : i)), from.get((int) (s + (scatter ? i : rows[i]))));
          }
        }
        return;
      }
      for (int i = 0; i < rows.length; i++) {
        long s = sourceBase + (scatter ? i : rows[i]) * sourceRow;
        long t = targetBase + (scatter ? rows[i] : i) * targetRow;
        for (long c = 0; c < columns; c++) {
          to.put((int) (t + c * targetColumn), from.get((int) (s + c * sourceColumn)));
        }
      }
    } else if (source.dataType() == DataType.DOUBLE && target.dataType() == DataType.DOUBLE) {
      DoubleBuffer from = source.data().asNioDouble();
      DoubleBuffer to = target.data().asNioDouble();
      long sourceBase = source.offset();
      long targetBase = target.offset();
      for (int i = 0; i < rows.length; i++) {
        long s = sourceBase + (scatter ? i : rows[i]) * sourceRow;
        long t = targetBase + (scatter ? rows[i] : i) * targetRow;
        for (long c = 0; c < columns; c++) {
          to.put((int) (t + c * targetColumn), from.get((int) (s + c * sourceColumn)));
        }
      }
    } else {
      throw new IllegalArgumentException("expected float or double arrays of one type, found "
          + source.dataType() + " and " + target.dataType());
    }
  }
}
