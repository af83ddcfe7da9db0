package tandem.worker;

/**
 * A copy of one parameter block's optimizer state (see
 * {@link tandem.model.optim.OptimizerState#copyOfState()}), for checkpoints and for moving a
 * head to another worker. Immutable by contract: nobody writes the array once it is taken.
 *
 * @param iteration updates applied so far
 * @param state the state in ND4J's layout for the optimizer
 */
public record OptimizerSnapshot(int iteration, float[] state) {}
