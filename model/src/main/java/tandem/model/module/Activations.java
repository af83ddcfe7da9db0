package tandem.model.module;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationELU;
import org.nd4j.linalg.activations.impl.ActivationGELU;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationLReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftPlus;
import org.nd4j.linalg.activations.impl.ActivationSoftSign;
import org.nd4j.linalg.activations.impl.ActivationSwish;
import org.nd4j.linalg.activations.impl.ActivationTanH;

/** The activations a spec may name, mapped to ND4J's implementations (with their backprop). */
public final class Activations {

  private static final Map<String, Supplier<IActivation>> BY_NAME = Map.of(
      "identity", ActivationIdentity::new,
      "relu", ActivationReLU::new,
      "tanh", ActivationTanH::new,
      "sigmoid", ActivationSigmoid::new,
      "leakyrelu", ActivationLReLU::new,
      "elu", ActivationELU::new,
      "softplus", ActivationSoftPlus::new,
      "softsign", ActivationSoftSign::new,
      "gelu", ActivationGELU::new,
      "swish", ActivationSwish::new);

  private Activations() {}

  /** The activation a spec names; an empty name means {@code identity}. */
  public static Optional<IActivation> named(String name) {
    Supplier<IActivation> factory = BY_NAME.get(name.isEmpty() ? "identity" : name);
    return Optional.ofNullable(factory).map(Supplier::get);
  }

  /** Every name a spec may use, sorted, for error messages. */
  public static List<String> names() {
    return BY_NAME.keySet().stream().sorted().toList();
  }
}
