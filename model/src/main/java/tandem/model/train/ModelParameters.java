package tandem.model.train;

import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.model.module.Module;
import tandem.model.spec.ModelGraph;
import tandem.model.spec.TrainingPlan;

/** Initial parameters of a job's modules: the same seed gives the same values. Stateless. */
public final class ModelParameters {

  private ModelParameters() {}

  /** A new flat buffer per module, keyed by name in spec order, initialised from {@code seed}. */
  public static Map<String, INDArray> initial(ModelGraph graph, long seed, DataType dataType) {
    Map<String, INDArray> parameters = new LinkedHashMap<>();
    for (Module module : graph.modules().values()) {
      INDArray flat = Nd4j.create(dataType, module.parameterCount());
      module.initializeInPlace(flat, Seeds.derive(seed, "init/" + module.name()));
      parameters.put(module.name(), flat);
    }
    return parameters;
  }

  /**
   * The parameters {@code plan} starts from: {@link #initial} from its seed, with every module
   * its {@link tandem.model.spec.StartingPoint} gives replaced by a copy of that value.
   */
  public static Map<String, INDArray> starting(TrainingPlan plan, DataType dataType) {
    Map<String, INDArray> parameters = initial(plan.graph(), plan.seed(), dataType);
    plan.start().parameters().forEach((module, given) -> {
      INDArray flat = parameters.get(module);
      if (flat == null) {
        return; // a module of the trained model that this job does not use
      }
      if (given.length() != flat.length()) {
        throw new IllegalArgumentException("module '" + module + "': expected " + flat.length()
            + " starting parameters, found " + given.length());
      }
      flat.assign(given.reshape(flat.length()).castTo(dataType));
    });
    return parameters;
  }

  /** A zeroed buffer shaped like each of {@code parameters}, for gradients. */
  public static Map<String, INDArray> zerosLike(Map<String, INDArray> parameters) {
    Map<String, INDArray> zeros = new LinkedHashMap<>();
    parameters.forEach((name, flat) -> zeros.put(name, Nd4j.zeros(flat.dataType(), flat.length())));
    return zeros;
  }
}
