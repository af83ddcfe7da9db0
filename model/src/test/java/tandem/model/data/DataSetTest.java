package tandem.model.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import tandem.model.kernel.Kernels;

class DataSetTest {

  /** The fused fill (bulk copies to native memory) writes what the NIO fill and a gather do. */
  @Test
  void fillOnEitherPathEqualsAFreshGatherOfTheSameRows() {
    SplittableRandom random = new SplittableRandom(3);
    int rows = 50;
    float[] floats = new float[rows * 7];
    for (int i = 0; i < floats.length; i++) {
      floats[i] = (float) random.nextGaussian();
    }
    int[] classes = random.ints(rows, 0, 5).toArray();
    int[] ids = random.ints(rows * 3L, 0, 11).toArray();
    Map<String, Field> fields = new LinkedHashMap<>();
    fields.put("x", new FloatField(floats, rows, 7));
    fields.put("label", new ClassField(classes, 5));
    fields.put("window", new IdField(ids, rows, 3, new int[] {11, 11, 11}));
    DataSet data = new DataSet("test", fields);
    Batch fused = data.newBatch(16);
    Batch nd4j = data.newBatch(16);
    for (int round = 0; round < 3; round++) {
      // The same buffers refilled: a class field's earlier one-hot entries must be cleared.
      int[] batchRows = random.ints(16, 0, rows).toArray();
      data.fill(batchRows, fused);
      Kernels.using(Kernels.Path.ND4J, () -> {
        data.fill(batchRows, nd4j);
        return null;
      });
      Batch expected = data.batch(batchRows, DataType.FLOAT);
      for (String field : fields.keySet()) {
        float[] want = expected.field(field).dup('c').data().asFloat();
        assertArrayEquals(want, fused.field(field).data().asFloat(), field + ", fused");
        assertArrayEquals(want, nd4j.field(field).data().asFloat(), field + ", ND4J");
      }
    }
  }
}
