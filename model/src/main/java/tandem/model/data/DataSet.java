package tandem.model.data;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.model.kernel.Kernels;

/**
 * Examples held in memory as named {@link Field}s with the same number of rows. Immutable and
 * thread-safe; {@link #batch} copies the selected rows out.
 */
public final class DataSet {

  private static final float[] ONE = {1f};
  /** Per thread (a data set is shared by the workers), id values as floats for one copy. */
  private static final ThreadLocal<float[]> ID_SCRATCH = new ThreadLocal<>();

  private final String name;
  private final Map<String, Field> fields;
  private final int size;
  private final Map<String, Vocabulary> vocabularies;
  private final int[] sentenceStarts;

  /** {@code name} identifies the data in errors and provenance (e.g. a file path). */
  public DataSet(String name, Map<String, Field> fields) {
    this(name, fields, Map.of());
  }

  /**
   * A data set whose id fields were made with {@code vocabularies} (by field name; a
   * multi-column category field's vocabularies are named {@code field[column]}).
   */
  public DataSet(String name, Map<String, Field> fields, Map<String, Vocabulary> vocabularies) {
    this(name, fields, vocabularies, new int[0]);
  }

  /**
   * A data set of token examples grouped into sentences, back to back in row order:
   * {@code sentenceStarts} holds each sentence's first row, ascending from 0. Span metrics such
   * as chunk F1 need them; a chunk never crosses a sentence start.
   */
  public DataSet(String name, Map<String, Field> fields, Map<String, Vocabulary> vocabularies,
      int[] sentenceStarts) {
    if (fields.isEmpty()) {
      throw new IllegalArgumentException(name + ": a data set needs at least one field");
    }
    int rows = -1;
    for (Map.Entry<String, Field> entry : fields.entrySet()) {
      int fieldRows = entry.getValue().rows();
      if (rows >= 0 && fieldRows != rows) {
        throw new IllegalArgumentException(name + ": field '" + entry.getKey() + "' has "
            + fieldRows + " rows, expected " + rows);
      }
      rows = fieldRows;
    }
    this.name = name;
    this.fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
    this.size = rows;
    this.vocabularies = Collections.unmodifiableMap(new LinkedHashMap<>(vocabularies));
    for (int s = 0; s < sentenceStarts.length; s++) {
      int start = sentenceStarts[s];
      if (s == 0 ? start != 0 : start <= sentenceStarts[s - 1] || start >= rows) {
        throw new IllegalArgumentException(name + ": expected sentence starts ascending from 0 "
            + "and below " + rows + ", found " + start + " at " + s);
      }
    }
    this.sentenceStarts = sentenceStarts.clone();
  }

  /** The first row of each sentence, ascending from 0; empty when rows are independent examples. */
  public int[] sentenceStarts() {
    return sentenceStarts.clone();
  }

  /** Whether the rows are tokens grouped into sentences ({@link #sentenceStarts()} not empty). */
  public boolean hasSentences() {
    return sentenceStarts.length > 0;
  }

  /** The vocabularies that map this data's text to ids, by field name; empty if none. */
  public Map<String, Vocabulary> vocabularies() {
    return vocabularies;
  }

  public String name() {
    return name;
  }

  /** Number of examples. */
  public int size() {
    return size;
  }

  public Set<String> fieldNames() {
    return fields.keySet();
  }

  /** The named field, or {@code null}. */
  public Field field(String fieldName) {
    return fields.get(fieldName);
  }

  /** Copies {@code rows} of every field into a new batch of {@code dataType} arrays. */
  public Batch batch(int[] rows, DataType dataType) {
    Map<String, INDArray> arrays = new LinkedHashMap<>();
    for (Map.Entry<String, Field> entry : fields.entrySet()) {
      arrays.put(entry.getKey(), gather(entry.getValue(), rows, dataType));
    }
    return new Batch(rows.length, arrays);
  }

  /**
   * A batch of {@code size} rows to {@link #fill}: one row-major float array per field, made
   * once and refilled every step (ND4J allocations cost tens of microseconds each).
   */
  public Batch newBatch(int size) {
    Map<String, INDArray> arrays = new LinkedHashMap<>();
    fields.forEach((fieldName, field) -> arrays.put(fieldName,
        Nd4j.create(DataType.FLOAT, new long[] {size, field.width()}, 'c')));
    return new Batch(size, arrays);
  }

  /** Copies {@code rows} of every field into {@code batch}, made by {@link #newBatch}. */
  public void fill(int[] rows, Batch batch) {
    if (rows.length != batch.size()) {
      throw new IllegalArgumentException("expected " + batch.size() + " rows, found " + rows.length);
    }
    fields.forEach((fieldName, field) -> {
      INDArray target = batch.field(fieldName);
      if (Kernels.fused(target)) {
        valuesInto(field, rows, target);
      } else {
        valuesInto(field, rows, target.data().asNioFloat());
      }
    });
  }

  /**
   * As below, by bulk copies to the array's native memory (the fused CPU path): a direct NIO view
   * of an ND4J buffer costs a JNI call and two objects each time it is made, per field per step.
   */
  private static void valuesInto(Field field, int[] rows, INDArray target) {
    int width = field.width();
    long address = Kernels.addressOf(target);
    if (field instanceof FloatField floats) {
      for (int i = 0; i < rows.length; i++) {
        Kernels.write(floats.values(), rows[i] * width, width, address + 4L * i * width);
      }
    } else if (field instanceof ClassField classes) {
      Kernels.zero(target);
      for (int i = 0; i < rows.length; i++) {
        Kernels.write(ONE, 0, 1, address + 4L * (i * width + classes.ids()[rows[i]]));
      }
    } else if (field instanceof IdField ids) {
      float[] values = Kernels.ensure(ID_SCRATCH.get(), (long) rows.length * width);
      ID_SCRATCH.set(values);
      for (int i = 0; i < rows.length; i++) {
        int base = rows[i] * width;
        for (int c = 0; c < width; c++) {
          values[i * width + c] = ids.ids()[base + c];
        }
      }
      Kernels.write(values, 0, rows.length * width, address);
    }
  }

  /**
   * Writes the rows' values of one field into {@code target} from index 0, row-major (class
   * fields one-hot), without an array in between: a step fills its batch every time.
   */
  private static void valuesInto(Field field, int[] rows, java.nio.FloatBuffer target) {
    int width = field.width();
    if (field instanceof FloatField floats) {
      for (int i = 0; i < rows.length; i++) {
        target.put(i * width, floats.values(), rows[i] * width, width);
      }
    } else if (field instanceof ClassField classes) {
      for (int i = 0; i < rows.length * width; i++) {
        target.put(i, 0f);
      }
      for (int i = 0; i < rows.length; i++) {
        target.put(i * width + classes.ids()[rows[i]], 1f);
      }
    } else if (field instanceof IdField ids) {
      for (int i = 0; i < rows.length; i++) {
        int base = rows[i] * width;
        for (int c = 0; c < width; c++) {
          target.put(i * width + c, ids.ids()[base + c]);
        }
      }
    }
  }

  private static INDArray gather(Field field, int[] rows, DataType dataType) {
    // Filled through its NIO view: Nd4j.create(float[]) copies element by element, which took
    // a third of the two-head benchmark's final evaluation.
    INDArray array = Nd4j.createUninitialized(DataType.FLOAT,
        new long[] {rows.length, field.width()}, 'c');
    valuesInto(field, rows, array.data().asNioFloat());
    return dataType == DataType.FLOAT ? array : array.castTo(dataType);
  }
}
