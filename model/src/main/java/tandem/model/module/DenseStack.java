package tandem.model.module;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.weightinit.impl.XavierInitScheme;
import tandem.model.kernel.FusedActivation;
import tandem.model.kernel.Kernels;

/**
 * Fully connected layers applied in order, {@code a = activation(x W + b)}. Parameters per layer,
 * in order: W ({@code [in, out]}, column-major as in DL4J) then b ({@code [out]}). Immutable.
 *
 * <p>Two paths, chosen per pass ({@link Kernels#fused}): the fused CPU path multiplies with
 * {@code cblas_sgemm} straight on the flat buffers and runs each layer's bias add and activation
 * (forward) or activation derivative and bias-gradient sum (backward) as one loop over heap
 * copies ({@link FusedActivation}); the ND4J path, the reference and the CUDA path, goes through
 * {@link Nd4j#gemm} and ND4J's activation ops. Both write column-major buffers made once per batch
 * size. A stack with an activation that has no fused twin always takes the ND4J path.
 */
public final class DenseStack implements Module {

  /** One layer: output width and the activation applied to {@code x W + b}. */
  public record Layer(int size, IActivation activation) {}

  private final String name;
  private final int inputSize;
  private final List<Layer> layers;
  private final FlatLayout layout;
  /** Each layer's fused activation, or null when some layer has none. */
  private final FusedActivation[] fusedActivations;

  public DenseStack(String name, int inputSize, List<Layer> layers) {
    if (inputSize <= 0) {
      throw new IllegalArgumentException("expected a positive input size, found " + inputSize);
    }
    if (layers.isEmpty()) {
      throw new IllegalArgumentException("expected at least one layer, found none");
    }
    this.name = name;
    this.inputSize = inputSize;
    this.layers = List.copyOf(layers);
    long[] sizes = new long[2 * layers.size()];
    int in = inputSize;
    for (int i = 0; i < layers.size(); i++) {
      int out = layers.get(i).size();
      if (out <= 0) {
        throw new IllegalArgumentException("layer " + i + ": expected a positive size, found " + out);
      }
      sizes[2 * i] = (long) in * out;
      sizes[2 * i + 1] = out;
      in = out;
    }
    this.layout = new FlatLayout(name, sizes);
    FusedActivation[] fused = new FusedActivation[layers.size()];
    for (int i = 0; i < fused.length; i++) {
      fused[i] = FusedActivation.of(layers.get(i).activation()).orElse(null);
      if (fused[i] == null) {
        fused = null;
        break;
      }
    }
    this.fusedActivations = fused;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public int inputSize() {
    return inputSize;
  }

  @Override
  public int outputSize() {
    return layers.get(layers.size() - 1).size();
  }

  @Override
  public long parameterCount() {
    return layout.total();
  }

  public List<Layer> layers() {
    return layers;
  }

  @Override
  public void initializeInPlace(INDArray parameters, long seed) {
    layout.check(parameters);
    // ND4J's weight-init schemes draw from the calling thread's generator: seed it per module.
    Nd4j.getRandom().setSeed(seed);
    Views p = views(parameters);
    int in = inputSize;
    for (int i = 0; i < layers.size(); i++) {
      int out = layers.get(i).size();
      new XavierInitScheme('f', in, out).create(new long[] {in, out}, p.weights[i]);
      p.biases[i].assign(0);
      in = out;
    }
  }

  @Override
  public Buffers createBuffers(int batchSize, DataType dataType) {
    return new DenseBuffers(batchSize, dataType);
  }

  @Override
  public INDArray forward(INDArray parameters, INDArray input, Module.Buffers buffers) {
    DenseBuffers work = (DenseBuffers) buffers;
    checkInput(input, work);
    work.fusedPass = fusedActivations != null && Kernels.fused(parameters, input);
    if (work.fusedPass) {
      layout.check(parameters);
      return forwardFused(Kernels.addressOf(parameters), input, work);
    }
    Views p = views(parameters);
    INDArray x = input;
    for (int i = 0; i < layers.size(); i++) {
      work.inputs[i] = x;
      INDArray z = work.preActivations[i];
      Nd4j.gemm(x, p.weights[i], z, false, false, 1.0, 0.0);
      z.addiRowVector(p.biases[i]);
      INDArray a = work.activations[i];
      a.assign(z);
      layers.get(i).activation().getActivation(a, true);
      x = a;
    }
    return x;
  }

  @Override
  public INDArray backward(INDArray parameters, INDArray outputGradient, Module.Buffers buffers,
      INDArray parameterGradient, boolean inputGradientNeeded) {
    DenseBuffers work = (DenseBuffers) buffers;
    layout.check(parameterGradient);
    if (work.fusedPass) {
      if (!Kernels.contiguous(parameterGradient)) {
        throw new IllegalArgumentException(name + ": the fused path needs a contiguous float"
            + " gradient buffer, found " + parameterGradient.dataType() + " with stride "
            + parameterGradient.elementWiseStride());
      }
      if (outputGradient.length() != (long) work.batchSize * outputSize()) {
        throw new IllegalArgumentException(name + ": expected an output gradient ["
            + work.batchSize + ", " + outputSize() + "], found "
            + java.util.Arrays.toString(outputGradient.shape()));
      }
      INDArray epsilon = Kernels.contiguous(outputGradient) ? outputGradient
          : outputGradient.dup('f');
      return backwardFused(Kernels.addressOf(parameters), Kernels.addressOf(parameterGradient),
          epsilon, work, inputGradientNeeded);
    }
    Views p = views(parameters);
    Views g = views(parameterGradient);
    INDArray epsilon = outputGradient;
    for (int i = layers.size() - 1; i >= 0; i--) {
      IActivation activation = layers.get(i).activation();
      // backprop may overwrite its input; the pre-activation is not needed after this layer.
      INDArray delta = activation instanceof ActivationIdentity
          ? epsilon
          : activation.backprop(work.preActivations[i], epsilon).getFirst();
      Nd4j.gemm(work.inputs[i], delta, g.weights[i], true, false, 1.0, 1.0);
      // dLoss/db = 1^T delta, accumulated by gemm into the gradient: no per-step array.
      Nd4j.gemm(work.ones, delta, g.biasRows[i], false, false, 1.0, 1.0);
      if (i == 0 && !inputGradientNeeded) {
        return null;
      }
      INDArray inputGradient = work.inputGradients[i];
      Nd4j.gemm(delta, p.weights[i], inputGradient, false, true, 1.0, 0.0);
      epsilon = inputGradient;
    }
    return epsilon;
  }

  /**
   * The fused path reads and writes the parameter and gradient buffers by address, block by
   * block ({@link #weights}, {@link #bias}), with no ND4J view of them: making views cost tens of
   * microseconds per buffer, and async training gives a trunk many buffers (one per version), so
   * a cache of them missed about once a step, under a lock two workers took turns on
   * (bench/run.sh async).
   */
  private INDArray forwardFused(long parameters, INDArray input, DenseBuffers work) {
    int rows = work.batchSize;
    work.ensureHeap();
    Kernels.Matrix x = Kernels.Matrix.of(input);
    for (int i = 0; i < layers.size(); i++) {
      int width = layers.get(i).size();
      work.inputMatrices[i] = x;
      Kernels.Matrix z = work.preMatrices[i];
      Kernels.gemm(x, false, weights(parameters, i), false, z, 1f, 0f);
      Kernels.read(z.address(), work.heapPre[i], 0, rows * width);
      Kernels.read(bias(parameters, i), work.heapBias, 0, width);
      fusedActivations[i].forward(work.heapPre[i], work.heapBias, work.heapActivations[i], rows,
          width);
      x = work.activationMatrices[i];
      Kernels.write(work.heapActivations[i], 0, rows * width, x.address());
    }
    return work.activations[layers.size() - 1];
  }

  private INDArray backwardFused(long parameters, long gradient, INDArray outputGradient,
      DenseBuffers work, boolean inputGradientNeeded) {
    int rows = work.batchSize;
    float[] epsilon = work.heapEpsilon;
    Kernels.readColumnMajor(outputGradient, epsilon, work.heapScratch);
    for (int i = layers.size() - 1; i >= 0; i--) {
      int width = layers.get(i).size();
      int length = rows * width;
      float[] delta = work.heapDelta;
      fusedActivations[i].backward(epsilon, work.heapPre[i], work.heapActivations[i], delta,
          length);
      // dLoss/db: column sums of delta, added into the gradient.
      float[] biasGradient = work.heapBias;
      for (int j = 0; j < width; j++) {
        float sum = 0f;
        int base = j * rows;
        for (int r = base; r < base + rows; r++) {
          sum += delta[r];
        }
        biasGradient[j] = sum;
      }
      Kernels.addInto(biasGradient, 0, bias(gradient, i), width, work.heapScratch);
      Kernels.Matrix deltaMatrix = work.deltaMatrices[i];
      Kernels.write(delta, 0, length, deltaMatrix.address());
      Kernels.gemm(work.inputMatrices[i], true, deltaMatrix, false, weights(gradient, i), 1f, 1f);
      if (i == 0 && !inputGradientNeeded) {
        return null;
      }
      Kernels.Matrix inputGradient = work.inputGradientMatrices[i];
      Kernels.gemm(deltaMatrix, false, weights(parameters, i), true, inputGradient, 1f, 0f);
      if (i == 0) {
        return work.inputGradients[i];
      }
      Kernels.read(inputGradient.address(), epsilon, 0, rows * inputGradient.columns());
    }
    throw new AssertionError("unreachable");
  }

  /**
   * The layer views of a flat buffer (parameters or gradients), made once per buffer: ND4J's
   * interval views and reshapes cost tens of microseconds each in allocations and native
   * bookkeeping, and a step made about a dozen. A step's buffers are the same few arrays every
   * time (the parameters, the gradients, a trunk replica or two), so the module keeps the views
   * of the last {@link #CACHED_BUFFERS} buffers it was given, for every thread: views are only
   * read, and a module serving requests sees them on many threads. Weakly: the views hold their
   * buffer, and in async mode every trunk version is a new buffer that must not outlive its use.
   */
  private Views views(INDArray flat) {
    synchronized (recent) {
      return viewsLocked(flat);
    }
  }

  private Views viewsLocked(INDArray flat) {
    for (int i = 0; i < recent.size(); i++) {
      Views views = recent.get(i).get();
      if (views != null && views.flat == flat) {
        if (i > 0) {
          recent.add(0, recent.remove(i));
        }
        return views;
      }
    }
    Views views = new Views(flat);
    recent.add(0, new java.lang.ref.WeakReference<>(views));
    if (recent.size() > CACHED_BUFFERS) {
      recent.remove(recent.size() - 1);
    }
    return views;
  }

  /** Layer {@code i}'s weights ({@code [in, out]}, column-major) in the buffer at {@code flat}. */
  private Kernels.Matrix weights(long flat, int i) {
    int in = i == 0 ? inputSize : layers.get(i - 1).size();
    return Kernels.Matrix.columnMajor(flat + 4 * layout.offset(2 * i), in, layers.get(i).size());
  }

  /** The address of layer {@code i}'s bias in the buffer at {@code flat}. */
  private long bias(long flat, int i) {
    return flat + 4 * layout.offset(2 * i + 1);
  }

  /** The ND4J path's buffers: a step's parameters, gradients and a trunk replica or two. */
  private static final int CACHED_BUFFERS = 8;

  private final List<java.lang.ref.WeakReference<Views>> recent = new ArrayList<>();

  /** Each layer's weights ([in, out], 'f'), bias and bias as a row, viewing {@code flat}. */
  private final class Views {
    final INDArray flat;
    final INDArray[] weights = new INDArray[layers.size()];
    final INDArray[] biases = new INDArray[layers.size()];
    final INDArray[] biasRows = new INDArray[layers.size()];

    Views(INDArray flat) {
      this.flat = flat;
      for (int i = 0; i < layers.size(); i++) {
        long in = i == 0 ? inputSize : layers.get(i - 1).size();
        long out = layers.get(i).size();
        weights[i] = layout.block(flat, 2 * i).reshape('f', in, out);
        biases[i] = layout.block(flat, 2 * i + 1);
        biasRows[i] = biases[i].reshape(1, out);
      }
    }
  }

  private void checkInput(INDArray input, DenseBuffers work) {
    if (input.rank() != 2 || input.size(0) != work.batchSize || input.size(1) != inputSize) {
      throw new IllegalArgumentException(name + ": expected input [" + work.batchSize + ", "
          + inputSize + "], found " + java.util.Arrays.toString(input.shape()));
    }
  }

  private final class DenseBuffers implements Module.Buffers {
    private final int batchSize;
    private final INDArray[] inputs;
    private final INDArray[] preActivations;
    private final INDArray[] activations;
    private final INDArray[] inputGradients;
    private final INDArray ones;
    private final DataType dataType;
    /** Whether the last forward pass took the fused path (its backward pass must too). */
    private boolean fusedPass;
    /** The fused path's heap copies (column-major), made on its first pass. */
    private float[][] heapPre;
    private float[][] heapActivations;
    private float[] heapBias;
    private float[] heapEpsilon;
    private float[] heapDelta;
    private float[] heapScratch;
    private INDArray[] deltas;
    /** The fused path's operands, made once (ND4J's shape and address lookups are not free). */
    private Kernels.Matrix[] inputMatrices;
    private Kernels.Matrix[] preMatrices;
    private Kernels.Matrix[] activationMatrices;
    private Kernels.Matrix[] deltaMatrices;
    private Kernels.Matrix[] inputGradientMatrices;

    DenseBuffers(int batchSize, DataType dataType) {
      this.dataType = dataType;
      this.batchSize = batchSize;
      this.ones = Nd4j.ones(dataType, 1, batchSize);
      int count = layers.size();
      inputs = new INDArray[count];
      preActivations = new INDArray[count];
      activations = new INDArray[count];
      inputGradients = new INDArray[count];
      List<Integer> widths = new ArrayList<>();
      widths.add(inputSize);
      layers.forEach(layer -> widths.add(layer.size()));
      for (int i = 0; i < count; i++) {
        preActivations[i] = Nd4j.createUninitialized(dataType, new long[] {batchSize, widths.get(i + 1)}, 'f');
        activations[i] = Nd4j.createUninitialized(dataType, new long[] {batchSize, widths.get(i + 1)}, 'f');
        inputGradients[i] = Nd4j.createUninitialized(dataType, new long[] {batchSize, widths.get(i)}, 'f');
      }
    }

    void ensureHeap() {
      if (heapPre != null) {
        return;
      }
      int count = layers.size();
      int widest = inputSize;
      heapPre = new float[count][];
      heapActivations = new float[count][];
      deltas = new INDArray[count];
      inputMatrices = new Kernels.Matrix[count];
      preMatrices = new Kernels.Matrix[count];
      activationMatrices = new Kernels.Matrix[count];
      deltaMatrices = new Kernels.Matrix[count];
      inputGradientMatrices = new Kernels.Matrix[count];
      for (int i = 0; i < count; i++) {
        int width = layers.get(i).size();
        widest = Math.max(widest, width);
        heapPre[i] = new float[batchSize * width];
        heapActivations[i] = new float[batchSize * width];
        deltas[i] = Nd4j.createUninitialized(dataType, new long[] {batchSize, width}, 'f');
        preMatrices[i] = Kernels.Matrix.of(preActivations[i]);
        activationMatrices[i] = Kernels.Matrix.of(activations[i]);
        deltaMatrices[i] = Kernels.Matrix.of(deltas[i]);
        inputGradientMatrices[i] = Kernels.Matrix.of(inputGradients[i]);
      }
      heapBias = new float[widest];
      heapEpsilon = new float[batchSize * widest];
      heapDelta = new float[batchSize * widest];
      heapScratch = new float[Math.max(batchSize * widest, widest)];
    }

    @Override
    public int batchSize() {
      return batchSize;
    }
  }
}
