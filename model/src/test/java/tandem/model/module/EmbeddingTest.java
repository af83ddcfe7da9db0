package tandem.model.module;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.model.GradientCheck;

class EmbeddingTest {

  /** A window embedding: 3 word ids (vocabulary 5, dimension 2), then 3 feature ids (3, 1). */
  private static final Embedding WINDOW = new Embedding("window",
      List.of(new Embedding.Table(5, 2, 3), new Embedding.Table(3, 1, 3)));

  @Test
  void looksUpRowsColumnByColumn() {
    Embedding embedding = new Embedding("e", List.of(new Embedding.Table(3, 2, 2)));
    // table rows: id 0 -> [0, 1], id 1 -> [10, 11], id 2 -> [20, 21]
    INDArray params = Nd4j.createFromArray(0.0, 1, 10, 11, 20, 21);
    INDArray ids = Nd4j.createFromArray(new double[][] {{2, 0}, {1, 1}});
    INDArray out = embedding.forward(params, ids, embedding.createBuffers(2, DataType.DOUBLE));
    assertArrayEquals(new double[] {20, 21, 0, 1, 10, 11, 10, 11},
        out.dup('c').data().asDouble(), 0);
    assertEquals(4, embedding.outputSize());
  }

  @Test
  void gradientMatchesNumericalWithRepeatedIds() {
    INDArray params = Nd4j.create(DataType.DOUBLE, WINDOW.parameterCount());
    WINDOW.initializeInPlace(params, 7);
    // Repeated ids within a row and across rows must add up in the table gradient.
    INDArray ids = Nd4j.createFromArray(new double[][] {{1, 1, 4, 0, 2, 2}, {4, 0, 1, 1, 1, 0},
        {1, 3, 3, 2, 0, 2}});
    INDArray weights = Nd4j.rand(DataType.DOUBLE, 3, WINDOW.outputSize()).subi(0.5);
    Module.Buffers buffers = WINDOW.createBuffers(3, DataType.DOUBLE);
    WINDOW.forward(params, ids, buffers);
    INDArray gradient = Nd4j.zeros(DataType.DOUBLE, WINDOW.parameterCount());
    assertNull(WINDOW.backward(params, weights, buffers, gradient, false));
    GradientCheck.assertGradient("window", params, gradient, () -> WINDOW.forward(params, ids,
        WINDOW.createBuffers(3, DataType.DOUBLE)).mul(weights).sumNumber().doubleValue(), 1e-6);
    // Ids absent from the batch (word 2) get no gradient.
    assertEquals(0, gradient.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(4, 6))
        .norm1Number().doubleValue(), 0);
  }

  @Test
  void idBeyondTheVocabularyNamesRowAndColumn() {
    INDArray params = Nd4j.create(DataType.DOUBLE, WINDOW.parameterCount());
    INDArray ids = Nd4j.createFromArray(new double[][] {{1, 1, 4, 0, 2, 2}, {4, 0, 1, 1, 3, 0}});
    IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
        () -> WINDOW.forward(params, ids, WINDOW.createBuffers(2, DataType.DOUBLE)));
    assertTrue(error.getMessage().contains("row 1, column 4 holds id 3.0, outside the vocabulary"
        + " [0, 3)"), error.getMessage());
  }
}
