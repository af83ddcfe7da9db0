package tandem.model.data;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The rows of one step: every field of the data set as a {@code [size, width]} array (class fields
 * one-hot). Handed from the loader to the step that consumes it; not shared afterwards.
 */
public record Batch(int size, Map<String, INDArray> fields) {

  /** The field's array; fails with the field names present when it is absent. */
  public INDArray field(String name) {
    INDArray array = fields.get(name);
    if (array == null) {
      throw new IllegalArgumentException(
          "batch has no field '" + name + "'; it has " + fields.keySet());
    }
    return array;
  }
}
