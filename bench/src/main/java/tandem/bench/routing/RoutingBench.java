package tandem.bench.routing;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tandem.bench.Median;
import tandem.model.data.Batch;
import tandem.model.loss.Loss;
import tandem.model.module.Activations;
import tandem.model.module.DenseStack;
import tandem.model.module.Module;
import tandem.model.spec.Branch;
import tandem.model.spec.ModelGraph;
import tandem.model.spec.OutputGraph;
import tandem.model.spec.PathStep;
import tandem.model.spec.TaskGraph;
import tandem.model.train.ModelParameters;
import tandem.model.train.TaskProgram;

/**
 * The cost of per-example routing: one training step (forward, loss, backward) of a batch routed
 * over two encoders, half the examples each, next to the same batch through one encoder without a
 * route. Only the selected branch runs, so the routed step should cost about the same plus the
 * gather and scatter of rows (the target is a ratio of at most 1.15); computing both branches on
 * every example and masking, as {@code tf.where} does, would cost about 2. Measures {@code
 * --repeats} runs of {@code --steps} steps of each, alternating which goes first, and reports the
 * median milliseconds per step and their ratio.
 */
@Command(name = "routing", mixinStandardHelpOptions = true,
    description = "Routed batch over two encoders vs. the same batch through one unrouted path.")
public final class RoutingBench implements Callable<Integer> {

  @Option(names = "--steps", defaultValue = "50",
      description = "Steps per measured run (default: ${DEFAULT-VALUE}).")
  int steps;

  @Option(names = "--repeats", defaultValue = "5",
      description = "Measured runs of each path (default: ${DEFAULT-VALUE}).")
  int repeats;

  @Option(names = "--batch", defaultValue = "256",
      description = "Examples per batch (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--width", defaultValue = "512",
      description = "Input and hidden width of the encoders (default: ${DEFAULT-VALUE}).")
  int width;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec commandSpec;

  @Override
  public Integer call() {
    if (steps <= 0 || repeats <= 0 || batchSize < 2 || width <= 0) {
      throw new CommandLine.ParameterException(commandSpec.commandLine(),
          "--steps, --repeats and --width must be positive, --batch at least 2");
    }
    DenseStack encoderA = encoder("encoder_a");
    DenseStack encoderB = encoder("encoder_b");
    DenseStack head = new DenseStack("head", width,
        List.of(new DenseStack.Layer(10, Activations.named("identity").orElseThrow())));
    List<OutputGraph> outputs = List.of(
        new OutputGraph("head", List.of(head), Loss.SOFTMAX_CROSS_ENTROPY, "y", 1));
    TaskGraph routed = TaskGraph.withSteps("routed", "x", List.of(new PathStep.Route("route",
        List.of(new Branch(null, List.of(encoderA)), new Branch(null, List.of(encoderB))))),
        outputs, batchSize);
    TaskGraph plain = new TaskGraph("plain", "x", List.of(encoderA), outputs, batchSize);
    Map<String, Module> modules = Map.of("encoder_a", encoderA, "encoder_b", encoderB,
        "head", head);
    Map<String, INDArray> parameters = ModelParameters.initial(
        new ModelGraph(modules, List.of(routed, plain)), 1, DataType.FLOAT);
    Map<String, INDArray> gradients = ModelParameters.zerosLike(parameters);
    Batch batch = batch();
    TaskProgram routedProgram = new TaskProgram(routed, DataType.FLOAT);
    TaskProgram plainProgram = new TaskProgram(plain, DataType.FLOAT);
    for (int turn = 0; turn < 2; turn++) {
      time(routedProgram, parameters, batch, gradients);
      time(plainProgram, parameters, batch, gradients);
    }
    double[] routedMs = new double[repeats];
    double[] plainMs = new double[repeats];
    List<String> lines = new ArrayList<>();
    for (int r = 0; r < repeats; r++) {
      if (r % 2 == 0) {
        routedMs[r] = time(routedProgram, parameters, batch, gradients);
        plainMs[r] = time(plainProgram, parameters, batch, gradients);
      } else {
        plainMs[r] = time(plainProgram, parameters, batch, gradients);
        routedMs[r] = time(routedProgram, parameters, batch, gradients);
      }
      lines.add(String.format("repetition %d: routed %.3f ms/step, unrouted %.3f ms/step, "
          + "ratio %.3f", r + 1, routedMs[r], plainMs[r], routedMs[r] / plainMs[r]));
    }
    PrintWriter out = commandSpec.commandLine().getOut();
    lines.forEach(out::println);
    double routedMedian = Median.of(routedMs);
    double plainMedian = Median.of(plainMs);
    out.printf("batch %d, encoders %d -> %d -> %d (relu), head %d -> 10, float, "
        + "OMP_NUM_THREADS=%s%n", batchSize, width, width, width, width,
        System.getenv("OMP_NUM_THREADS"));
    out.printf("routed over two encoders: %.3f ms/step (median of %d x %d steps)%n",
        routedMedian, repeats, steps);
    out.printf("one unrouted path:        %.3f ms/step%n", plainMedian);
    out.printf("ratio routed / unrouted:  %.3f (target <= 1.15)%n", routedMedian / plainMedian);
    out.flush();
    return 0;
  }

  private DenseStack encoder(String name) {
    return new DenseStack(name, width, List.of(
        new DenseStack.Layer(width, Activations.named("relu").orElseThrow()),
        new DenseStack.Layer(width, Activations.named("relu").orElseThrow())));
  }

  /** Random features, labels, and a route field sending each example to either encoder. */
  private Batch batch() {
    SplittableRandom random = new SplittableRandom(7);
    INDArray route = Nd4j.zeros(DataType.FLOAT, batchSize, 2);
    INDArray labels = Nd4j.zeros(DataType.FLOAT, batchSize, 10);
    // Half the examples per route, in a shuffled order.
    int[] routes = new int[batchSize];
    for (int i = 0; i < batchSize; i++) {
      routes[i] = i % 2;
    }
    for (int i = batchSize - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int swap = routes[i];
      routes[i] = routes[j];
      routes[j] = swap;
    }
    for (int i = 0; i < batchSize; i++) {
      route.putScalar(i, routes[i], 1);
      labels.putScalar(i, random.nextInt(10), 1);
    }
    Map<String, INDArray> fields = new LinkedHashMap<>();
    Nd4j.getRandom().setSeed(7);
    fields.put("x", Nd4j.rand(DataType.FLOAT, batchSize, width).subi(0.5));
    fields.put("route", route);
    fields.put("y", labels);
    return new Batch(batchSize, fields);
  }

  private double time(TaskProgram program, Map<String, INDArray> parameters, Batch batch,
      Map<String, INDArray> gradients) {
    long start = System.nanoTime();
    for (int s = 0; s < steps; s++) {
      program.computeGradients(parameters, batch, gradients);
    }
    return (System.nanoTime() - start) / 1e6 / steps;
  }
}
