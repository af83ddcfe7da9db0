package tandem.bench.modules;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tandem.bench.Median;
import tandem.model.kernel.Kernels;
import tandem.model.module.Module;
import tandem.model.module.SequenceDecoder;
import tandem.model.module.SequenceEncoder;

/**
 * One module's forward and backward pass on the fused CPU path against the same pass on ND4J's
 * ops ({@code -Dtandem.kernels=nd4j}'s path), at the sizes of {@code
 * examples/shared-decoder.json}: its sequence decoder (a code of 64 repeated over 4 steps, an
 * LSTM of 64 units, logits over 40 symbols) and its sequence encoder (28 steps of ids over 40
 * symbols, embeddings of 16, 64 units), batch 32. Alternates the paths, {@code --repeats} runs of
 * {@code --steps} passes each, and prints the median microseconds per pass and their ratio, per
 * module. Both paths share the LSTM's recurrence ({@code LstmLayerOp}, {@code HeapLstm}).
 */
@Command(name = "modules", mixinStandardHelpOptions = true,
    description = "A module's forward and backward pass, fused path vs. ND4J's ops.")
public final class ModulesBench implements Callable<Integer> {

  @Option(names = "--steps", defaultValue = "500",
      description = "Passes per measured run (default: ${DEFAULT-VALUE}).")
  int steps;

  @Option(names = "--repeats", defaultValue = "5",
      description = "Measured runs of each path (default: ${DEFAULT-VALUE}).")
  int repeats;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec commandSpec;

  /** A module and an input batch for it. */
  record Case(String what, Module module, INDArray input) {}

  static List<Case> cases() {
    int batch = 32;
    SequenceDecoder decoder = new SequenceDecoder("digits_decoder", 64, 64, 40, 4);
    SequenceEncoder encoder = new SequenceEncoder("words_encoder", 40, 16, 64, 28);
    Nd4j.getRandom().setSeed(1);
    INDArray ids = Nd4j.rand(DataType.FLOAT, batch, 28).muli(39).addi(1);
    Nd4j.getExecutioner().exec(new org.nd4j.linalg.api.ops.impl.transforms.same.Floor(ids));
    return List.of(
        new Case("sequence decoder 64 -> LSTM 64 x 4 steps -> 40", decoder,
            Nd4j.rand(DataType.FLOAT, batch, 64).subi(0.5)),
        new Case("sequence encoder 28 ids of 40 -> 16 -> LSTM 64", encoder, ids));
  }

  @Override
  public Integer call() {
    if (steps <= 0 || repeats <= 0) {
      throw new CommandLine.ParameterException(commandSpec.commandLine(),
          "--steps and --repeats must be positive");
    }
    PrintWriter out = commandSpec.commandLine().getOut();
    out.printf("forward + backward, batch 32, float, OMP_NUM_THREADS=%s, %d runs of %d passes"
        + " each path, alternating%n", System.getenv("OMP_NUM_THREADS"), repeats, steps);
    for (Case c : cases()) {
      Pass fused = new Pass(c);
      Pass nd4j = new Pass(c);
      double[] fusedUs = new double[repeats];
      double[] nd4jUs = new double[repeats];
      for (int turn = 0; turn < 2; turn++) {
        fused.time(steps);
        Kernels.using(Kernels.Path.ND4J, () -> nd4j.time(steps));
      }
      for (int r = 0; r < repeats; r++) {
        if (r % 2 == 0) {
          fusedUs[r] = fused.time(steps);
          nd4jUs[r] = Kernels.using(Kernels.Path.ND4J, () -> nd4j.time(steps));
        } else {
          nd4jUs[r] = Kernels.using(Kernels.Path.ND4J, () -> nd4j.time(steps));
          fusedUs[r] = fused.time(steps);
        }
      }
      double f = Median.of(fusedUs);
      double n = Median.of(nd4jUs);
      out.printf("%-50s fused %8.0f us, ND4J ops %8.0f us, fused / ND4J %.2f%n", c.what(), f, n,
          f / n);
    }
    out.flush();
    return 0;
  }

  /** One path's buffers and parameters for a case. */
  private static final class Pass {
    private final Case c;
    private final INDArray parameters;
    private final INDArray gradient;
    private final INDArray epsilon;
    private final Module.Buffers buffers;
    private final boolean inputGradient;

    Pass(Case c) {
      this.c = c;
      parameters = Nd4j.create(DataType.FLOAT, c.module().parameterCount());
      c.module().initializeInPlace(parameters, 1);
      gradient = Nd4j.zeros(DataType.FLOAT, c.module().parameterCount());
      int batch = (int) c.input().size(0);
      epsilon = Nd4j.rand(DataType.FLOAT, batch, c.module().outputSize()).subi(0.5);
      buffers = c.module().createBuffers(batch, DataType.FLOAT);
      inputGradient = !c.module().readsIds();
    }

    /** Microseconds per forward and backward pass, over {@code steps} of them. */
    double time(int steps) {
      long start = System.nanoTime();
      for (int i = 0; i < steps; i++) {
        c.module().forward(parameters, c.input(), buffers);
        c.module().backward(parameters, epsilon, buffers, gradient, inputGradient);
      }
      return (System.nanoTime() - start) / 1e3 / steps;
    }
  }
}
