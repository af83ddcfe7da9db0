package tandem.model.kernel;

import java.lang.reflect.Field;
import java.util.function.Supplier;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
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
    long rows = array.size(0);
    long columns = array.size(1);
    long[] stride = array.stride();
    return array.ordering() == 'c'
        ? (stride[1] == 1 || columns == 1) && (stride[0] == columns || rows == 1)
        : (stride[0] == 1 || rows == 1) && (stride[1] == rows || columns == 1);
  }

  /**
   * {@code c = alpha * op(a) op(b) + beta * c} by {@code cblas_sgemm}, where {@code op} transposes
   * when asked. {@code a} and {@code b} may be in either order (a row-major array is its
   * transpose column-major); {@code c} must be column-major. All contiguous floats.
   */
  public static void gemm(INDArray a, boolean transposeA, INDArray b, boolean transposeB,
      INDArray c, float alpha, float beta) {
    if (c.ordering() != 'f' && c.size(0) != 1 && c.size(1) != 1) {
      throw new IllegalArgumentException("expected a column-major result, found order "
          + c.ordering());
    }
    int m = (int) c.size(0);
    int n = (int) c.size(1);
    int k = (int) (transposeA ? a.size(0) : a.size(1));
    boolean aColumns = a.ordering() == 'f';
    boolean bColumns = b.ordering() == 'f';
    int lda = (int) (aColumns ? a.size(0) : a.size(1));
    int ldb = (int) (bColumns ? b.size(0) : b.size(1));
    // A row-major [r, c] array is the column-major [c, r] one: flip the transpose flag.
    int opA = transposeA == aColumns ? openblas.CblasTrans : openblas.CblasNoTrans;
    int opB = transposeB == bColumns ? openblas.CblasTrans : openblas.CblasNoTrans;
    openblas.cblas_sgemm(openblas.CblasColMajor, opA, opB, m, n, k, alpha, pointer(a),
        Math.max(1, lda), pointer(b), Math.max(1, ldb), beta, pointer(c), Math.max(1, m));
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

  private static FloatPointer pointer(INDArray array) {
    return new FloatPointer(new Pointer() {
      {
        address = Kernels.address(array);
      }
    });
  }

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
