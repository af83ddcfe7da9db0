package tandem.model.kernel;

import java.lang.reflect.Field;
import java.util.function.Supplier;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The fused CPU path's primitives: which path a computation takes, matrix products straight to
 * OpenBLAS on ND4J's buffers, and bulk copies between those buffers and Java arrays.
 *
 * <p>Why: every ND4J op call costs 40-200 us of fixed overhead on the 2-core machines, whatever
 * its size (DESIGN.md, compute rules). Measured in one JVM: {@code Nd4j.gemm} of 64x64 by 64x256
 * 115-250 us against 45-60 us for {@code cblas_sgemm} on the same buffers; a bias add and ReLU
 * through ND4J 200-280 us against 9 us for a Java loop over the same 16,384 floats. Element-wise
 * loops run over heap arrays, not over the native memory: C2 vectorises loops over {@code float[]}
 * but not over {@code Unsafe} or {@code FloatBuffer} accesses (a rational tanh: 28 us on the heap,
 * 120 us on native memory), and a bulk copy costs less than that difference.
 *
 * <p>The ND4J-op path stays the reference and the CUDA path (device memory cannot be read by host
 * loops): {@link #fused} is false off the CPU backend, for data types other than float, for
 * non-contiguous arrays, with {@code -Dtandem.kernels=nd4j}, and inside {@link #using} with
 * {@link Path#ND4J}. Stateless; thread-safe.
 */
public final class Kernels {

  /** Which implementation a module, loss or optimizer runs. */
  public enum Path { FUSED, ND4J }

  private static final Path DEFAULT = defaultPath();
  private static final ThreadLocal<Path> OVERRIDE = new ThreadLocal<>();
  private static final sun.misc.Unsafe UNSAFE = unsafe();
  private static final long FLOATS = UNSAFE.arrayBaseOffset(float[].class);

  private Kernels() {}

  /** The path computations on the calling thread take. */
  public static Path path() {
    Path override = OVERRIDE.get();
    return override != null ? override : DEFAULT;
  }

  /** Runs {@code body} on the calling thread with {@code path} (tests compare the two paths). */
  public static <T> T using(Path path, Supplier<T> body) {
    Path previous = OVERRIDE.get();
    OVERRIDE.set(path);
    try {
      return body.get();
    } finally {
      if (previous == null) {
        OVERRIDE.remove();
      } else {
        OVERRIDE.set(previous);
      }
    }
  }

  /** Whether the fused path applies to every one of {@code arrays}. */
  public static boolean fused(INDArray... arrays) {
    if (path() != Path.FUSED) {
      return false;
    }
    for (INDArray array : arrays) {
      if (!contiguous(array)) {
        return false;
      }
    }
    return true;
  }

  /** A float array whose elements lie back to back in its own order, so one copy moves it. */
  public static boolean contiguous(INDArray array) {
    if (array.dataType() != DataType.FLOAT || array.isEmpty()) {
      return false;
    }
    if (array.rank() == 1) {
      return array.elementWiseStride() == 1;
    }
    if (array.rank() != 2) {
      return false;
    }
    // shape() and stride() once each: size(i) checks for a scalar every call, and this runs
    // for every buffer of every step.
    long[] shape = array.shape();
    long rows = shape[0];
    long columns = shape[1];
    long[] stride = array.stride();
    return array.ordering() == 'c'
        ? (stride[1] == 1 || columns == 1) && (stride[0] == columns || rows == 1)
        : (stride[0] == 1 || rows == 1) && (stride[1] == rows || columns == 1);
  }

  /**
   * A matrix operand of {@link #gemm(Matrix, boolean, Matrix, boolean, Matrix, float, float)}:
   * {@code rows x columns} contiguous floats at a native address, column- or row-major. Lets a
   * module multiply with a block of its flat parameter buffer without an ND4J view of it (a view
   * costs tens of microseconds to make, and a cache of them is shared state between threads).
   */
  public record Matrix(long address, int rows, int columns, boolean columnMajor) {

    /** {@code array} (contiguous floats, rank 2, or rank 1 as one row). */
    public static Matrix of(INDArray array) {
      if (array.rank() == 1) {
        return new Matrix(Kernels.address(array), 1, (int) array.length(), false);
      }
      long[] shape = array.shape();
      return new Matrix(Kernels.address(array), (int) shape[0], (int) shape[1],
          array.ordering() == 'f');
    }

    /** The column-major {@code [rows, columns]} floats at {@code address}. */
    public static Matrix columnMajor(long address, int rows, int columns) {
      return new Matrix(address, rows, columns, true);
    }

    /** Distance between the starts of consecutive columns (column-major) or rows. */
    int leading() {
      return Math.max(1, columnMajor ? rows : columns);
    }
  }

  /**
   * {@code c = alpha * op(a) op(b) + beta * c} by {@code cblas_sgemm}, where {@code op} transposes
   * when asked. {@code a} and {@code b} may be in either order (a row-major array is its
   * transpose column-major); {@code c} must be column-major. All contiguous floats.
   */
  public static void gemm(INDArray a, boolean transposeA, INDArray b, boolean transposeB,
      INDArray c, float alpha, float beta) {
    gemm(Matrix.of(a), transposeA, Matrix.of(b), transposeB, Matrix.of(c), alpha, beta);
  }

  /** As {@link #gemm(INDArray, boolean, INDArray, boolean, INDArray, float, float)}, on addresses. */
  public static void gemm(Matrix a, boolean transposeA, Matrix b, boolean transposeB, Matrix c,
      float alpha, float beta) {
    if (!c.columnMajor() && c.rows() != 1 && c.columns() != 1) {
      throw new IllegalArgumentException("expected a column-major result, found a row-major one");
    }
    int m = c.rows();
    int n = c.columns();
    int k = transposeA ? a.rows() : a.columns();
    if ((transposeA ? a.columns() : a.rows()) != m || (transposeB ? b.rows() : b.columns()) != n
        || (transposeB ? b.columns() : b.rows()) != k) {
      throw new IllegalArgumentException("gemm: shapes do not match: a " + a.rows() + "x"
          + a.columns() + (transposeA ? "^T" : "") + ", b " + b.rows() + "x" + b.columns()
          + (transposeB ? "^T" : "") + ", c " + m + "x" + n);
    }
    // A row-major [r, c] array is the column-major [c, r] one: flip the transpose flag.
    int opA = transposeA == a.columnMajor() ? openblas.CblasTrans : openblas.CblasNoTrans;
    int opB = transposeB == b.columnMajor() ? openblas.CblasTrans : openblas.CblasNoTrans;
    Operands operands = OPERANDS.get();
    openblas.cblas_sgemm(openblas.CblasColMajor, opA, opB, m, n, k, alpha,
        operands.a.at(a.address()), a.leading(), operands.b.at(b.address()), b.leading(), beta,
        operands.c.at(c.address()), Math.max(1, m));
  }

  /** Copies {@code array}'s elements, in its own order, into {@code destination}. */
  public static void read(INDArray array, float[] destination) {
    long length = array.length();
    UNSAFE.copyMemory(null, address(array), destination, FLOATS, 4 * length);
  }

  /** Copies {@code source}'s first {@code array.length()} floats into {@code array}. */
  public static void write(float[] source, INDArray array) {
    long length = array.length();
    UNSAFE.copyMemory(source, FLOATS, null, address(array), 4 * length);
  }

  /**
   * The native address of {@code array}'s first element, for loops that copy many slices of one
   * array ({@link #read(long, float[], int, int)}): ND4J's address lookup costs about half a
   * microsecond a call. Valid while the array is reachable; float arrays only.
   */
  public static long addressOf(INDArray array) {
    return address(array);
  }

  /** Copies {@code length} floats from native {@code address} into {@code destination}. */
  public static void read(long address, float[] destination, int offset, int length) {
    UNSAFE.copyMemory(null, address, destination, FLOATS + 4L * offset, 4L * length);
  }

  /** Copies {@code length} floats of {@code source} from {@code offset} to native {@code address}. */
  public static void write(float[] source, int offset, int length, long address) {
    UNSAFE.copyMemory(source, FLOATS + 4L * offset, null, address, 4L * length);
  }

  /**
   * {@code array}'s elements column by column ({@code [rows, columns]}, column-major) into
   * {@code destination}, whichever order the array has.
   */
  public static void readColumnMajor(INDArray array, float[] destination, float[] scratch) {
    readInOrder(array, 'f', destination, scratch);
  }

  /**
   * {@code array}'s elements row by row ({@code [rows, columns]}, row-major) into
   * {@code destination}, whichever order the array has.
   */
  public static void readRowMajor(INDArray array, float[] destination, float[] scratch) {
    readInOrder(array, 'c', destination, scratch);
  }

  /** {@code array}'s elements in {@code order}: one copy, and a transpose when it differs. */
  private static void readInOrder(INDArray array, char order, float[] destination,
      float[] scratch) {
    if (array.ordering() == order || array.rank() == 1 || array.size(0) == 1
        || array.size(1) == 1) {
      read(array, destination);
      return;
    }
    int rows = (int) array.size(0);
    int columns = (int) array.size(1);
    read(array, scratch);
    // The array's own order lays it out as [rows, columns] row-major or [columns, rows].
    if (order == 'f') {
      transpose(scratch, rows, columns, destination);
    } else {
      transpose(scratch, columns, rows, destination);
    }
  }

  /** Row-major {@code [rows, columns]} {@code source} into row-major {@code [columns, rows]}. */
  public static void transpose(float[] source, int rows, int columns, float[] destination) {
    for (int r = 0; r < rows; r++) {
      int base = r * columns;
      for (int c = 0; c < columns; c++) {
        destination[c * rows + r] = source[base + c];
      }
    }
  }

  /** Sets every element of {@code array} to zero. */
  public static void zero(INDArray array) {
    UNSAFE.setMemory(address(array), 4 * array.length(), (byte) 0);
  }

  /** Adds {@code length} floats of {@code values} into {@code array} from element {@code from}. */
  public static void addInto(float[] values, int offset, INDArray array, long from, int length,
      float[] scratch) {
    addInto(values, offset, address(array) + 4 * from, length, scratch);
  }

  /** Adds {@code length} floats of {@code values} into the native floats at {@code address}. */
  public static void addInto(float[] values, int offset, long address, int length,
      float[] scratch) {
    read(address, scratch, 0, length);
    for (int i = 0; i < length; i++) {
      scratch[i] += values[offset + i];
    }
    write(scratch, 0, length, address);
  }

  /**
   * A {@code [rows, columns]} matrix as heap rows, as ND4J's {@code toFloatMatrix} gives them,
   * but with one bulk copy on the fused path and one ND4J copy otherwise: {@code toFloatMatrix}
   * makes a view per row, 25 ms for 1,024 rows of 44, which was most of an evaluation's and of a
   * large Predict request's time.
   */
  public static float[][] rows(INDArray matrix) {
    if (matrix.rank() != 2) {
      throw new IllegalArgumentException("expected a matrix, found rank " + matrix.rank());
    }
    int rows = (int) matrix.size(0);
    int columns = (int) matrix.size(1);
    float[] flat = rowMajor(matrix);
    float[][] out = new float[rows][];
    for (int r = 0; r < rows; r++) {
      out[r] = java.util.Arrays.copyOfRange(flat, r * columns, (r + 1) * columns);
    }
    return out;
  }

  /**
   * Whether {@code array} is float data on the fused path laid out row-major with no gaps, of
   * any rank, so that {@link #read(INDArray, float[])} and {@link #write(float[], INDArray)}
   * move it in row-major order.
   */
  public static boolean isRowMajorFloats(INDArray array) {
    if (path() != Path.FUSED || array.dataType() != DataType.FLOAT || array.isEmpty()) {
      return false;
    }
    long[] shape = array.shape();
    long[] stride = array.stride();
    long expected = 1;
    for (int d = shape.length - 1; d >= 0; d--) {
      if (shape[d] != 1 && stride[d] != expected) {
        return false;
      }
      expected *= shape[d];
    }
    return true;
  }

  /**
   * The elements of {@code array} in row-major order, by one copy, when it is float data on the
   * fused path that is row-major of any rank or contiguous of rank 1 or 2; otherwise null.
   */
  public static float[] rowMajorFloats(INDArray array) {
    if (isRowMajorFloats(array)) {
      float[] values = new float[(int) array.length()];
      read(array, values);
      return values;
    }
    if (fused(array)) {
      float[] values = new float[(int) array.length()];
      readRowMajor(array, values, new float[values.length]);
      return values;
    }
    return null;
  }

  /**
   * {@code array}'s elements in row-major order as floats: {@link #rowMajorFloats} where it
   * applies, otherwise one ND4J copy (never a view per row).
   */
  public static float[] rowMajor(INDArray array) {
    float[] values = rowMajorFloats(array);
    return values != null ? values : array.castTo(DataType.FLOAT).dup('c').data().asFloat();
  }

  /**
   * For each of the {@code rows} rows of row-major {@code values}, the index of its first
   * largest value (ND4J's argMax): a class prediction, a one-hot label's class.
   */
  public static int[] argMaxRows(float[] values, int rows) {
    int columns = rows == 0 ? 0 : values.length / rows;
    int[] classes = new int[rows];
    for (int r = 0; r < rows; r++) {
      int base = r * columns;
      int best = 0;
      for (int c = 1; c < columns; c++) {
        if (values[base + c] > values[base + best]) {
          best = c;
        }
      }
      classes[r] = best;
    }
    return classes;
  }

  /** A heap array of at least {@code length} floats: {@code current} if it is long enough. */
  public static float[] ensure(float[] current, long length) {
    if (length > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("expected at most 2^31 - 9 floats, found " + length);
    }
    return current != null && current.length >= length ? current : new float[(int) length];
  }

  private static long address(INDArray array) {
    if (array.dataType() != DataType.FLOAT) {
      throw new IllegalArgumentException("expected float data, found " + array.dataType());
    }
    return array.data().address() + 4 * array.offset();
  }

  /**
   * A pointer whose address is set for each call: three new JavaCPP pointers per product were
   * about 4% of a small model's step (JFR). Confined to its thread.
   */
  private static final class At extends FloatPointer {
    FloatPointer at(long at) {
      address = at;
      return this;
    }
  }

  private record Operands(At a, At b, At c) {}

  private static final ThreadLocal<Operands> OPERANDS =
      ThreadLocal.withInitial(() -> new Operands(new At(), new At(), new At()));

  private static Path defaultPath() {
    String setting = System.getProperty("tandem.kernels", "fused");
    if (!setting.equals("fused") && !setting.equals("nd4j")) {
      throw new IllegalArgumentException("tandem.kernels: expected fused or nd4j, found "
          + setting);
    }
    boolean cpu = Nd4j.getBackend().getClass().getName().endsWith("CpuBackend");
    return setting.equals("fused") && cpu ? Path.FUSED : Path.ND4J;
  }

  private static sun.misc.Unsafe unsafe() {
    try {
      Field field = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
      field.setAccessible(true);
      return (sun.misc.Unsafe) field.get(null);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("sun.misc.Unsafe is not available", e);
    }
  }
}
