package tandem.worker;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One version of a job's shared modules: flat parameter buffers by module name. Immutable by
 * contract: the shared-parameter actor builds each version from fresh arrays and nobody writes a
 * published buffer, so in one JVM a snapshot is shared by reference between the parameter actor
 * and every worker's replica.
 */
public record TrunkSnapshot(long version, Map<String, INDArray> parameters) {

  public TrunkSnapshot {
    parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
  }
}
