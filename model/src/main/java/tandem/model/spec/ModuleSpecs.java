package tandem.model.spec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.activations.IActivation;
import tandem.api.v1.DenseLayer;
import tandem.api.v1.ModuleSpec;
import tandem.model.module.Activations;
import tandem.model.module.DenseStack;
import tandem.model.module.Module;

/**
 * Turns a job's {@link ModuleSpec}s into {@link Module}s, checking names, kinds and sizes so that
 * the module constructors never see a value they would reject. Stateless.
 */
final class ModuleSpecs {

  private ModuleSpecs() {}

  /** The job's modules by name, in spec order. */
  static Map<String, Module> build(List<ModuleSpec> specs) throws InvalidSpecException {
    if (specs.isEmpty()) {
      throw new InvalidSpecException("modules", "expected at least one module, found none");
    }
    Map<String, Module> modules = new LinkedHashMap<>();
    for (int i = 0; i < specs.size(); i++) {
      ModuleSpec spec = specs.get(i);
      String modulePath = "modules[" + i + "]";
      if (spec.getName().isEmpty()) {
        throw new InvalidSpecException(modulePath + ".name", "expected a module name, found none");
      }
      if (modules.containsKey(spec.getName())) {
        throw new InvalidSpecException(modulePath + ".name", "duplicate module name '"
            + spec.getName() + "'; module names must be unique within the job");
      }
      Module module = switch (spec.getKindCase()) {
        case DENSE -> dense(spec.getName(), spec.getDense(), modulePath + ".dense");
        case KIND_NOT_SET -> throw new InvalidSpecException(modulePath, "module '"
            + spec.getName() + "' has no kind; expected one of [dense]");
      };
      modules.put(spec.getName(), module);
    }
    return modules;
  }

  private static Module dense(String name, tandem.api.v1.DenseStack spec, String densePath)
      throws InvalidSpecException {
    if (spec.getInputSize() <= 0) {
      throw new InvalidSpecException(densePath + ".inputSize",
          "expected a positive input size, found " + spec.getInputSize());
    }
    if (spec.getLayersCount() == 0) {
      throw new InvalidSpecException(densePath + ".layers",
          "expected at least one layer, found none");
    }
    List<DenseStack.Layer> layers = new ArrayList<>();
    for (int j = 0; j < spec.getLayersCount(); j++) {
      DenseLayer layer = spec.getLayers(j);
      String layerPath = densePath + ".layers[" + j + "]";
      if (layer.getSize() <= 0) {
        throw new InvalidSpecException(layerPath + ".size",
            "expected a positive layer size, found " + layer.getSize());
      }
      IActivation activation = Activations.named(layer.getActivation())
          .orElseThrow(() -> new InvalidSpecException(layerPath + ".activation",
              "unknown activation '" + layer.getActivation() + "'; expected one of "
                  + Activations.names()));
      layers.add(new DenseStack.Layer(layer.getSize(), activation));
    }
    return new DenseStack(name, spec.getInputSize(), layers);
  }
}
