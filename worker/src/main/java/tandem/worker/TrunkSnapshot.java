package tandem.worker;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One version of a job's shared modules: flat parameter buffers by module name. Immutable by
 * contract while it can be read: the shared-parameter actor never writes a buffer that a step,
 * an evaluation or a fetch may still read (in sync mode it reuses a version's buffers two
 * versions later, when no step can need it; in async mode every version is new), so in one JVM a
 * snapshot is shared by reference between the parameter actor and every worker's replica.
 */
public record TrunkSnapshot(long version, Map<String, INDArray> parameters) {

  public TrunkSnapshot {
    parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
  }
}
