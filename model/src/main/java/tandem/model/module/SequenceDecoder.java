package tandem.model.module;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.weightinit.impl.XavierInitScheme;
import tandem.model.kernel.Kernels;

/**
 * A recurrent sequence decoder: the input code {@code [batch, inputSize]} is repeated at each of
 * {@code maxLength} time steps, run through one LSTM layer ({@link LstmLayerOp}: ND4J's
 * {@code lstmLayer} forward and {@link HeapLstm} backward; on the fused path {@link HeapLstm} both
 * ways, the backward pass reusing the forward pass's recurrence) and projected to logits over the
 * vocabulary at every
 * step. Output {@code [batch, maxLength x vocabulary]}, time-major within a row (step t's logits
 * at columns {@code [t V, (t+1) V)}); the softmax per step belongs to the loss
 * ({@code sequence_softmax_cross_entropy}), which also masks padded steps. Parameters in order:
 * W_x {@code [input, 4 hidden]}, W_r {@code [hidden, 4 hidden]}, b {@code [4 hidden]}, W_o
 * {@code [hidden, vocabulary]}, b_o {@code [vocabulary]}, all row-major. Immutable.
 */
public final class SequenceDecoder implements Module {

  private final String name;
  private final int inputSize;
  private final int hiddenSize;
  private final int vocabularySize;
  private final int maxLength;
  private final FlatLayout layout;

  public SequenceDecoder(String name, int inputSize, int hiddenSize, int vocabularySize,
      int maxLength) {
    if (inputSize <= 0 || hiddenSize <= 0 || vocabularySize <= 0 || maxLength <= 0) {
      throw new IllegalArgumentException("expected positive sizes, found input " + inputSize
          + ", hidden " + hiddenSize + ", vocabulary " + vocabularySize + ", max length "
          + maxLength);
    }
    this.name = name;
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.vocabularySize = vocabularySize;
    this.maxLength = maxLength;
    long[] sizes = {4L * inputSize * hiddenSize, 4L * hiddenSize * hiddenSize, 4L * hiddenSize,
        (long) hiddenSize * vocabularySize, vocabularySize};
    layout = new FlatLayout(name, sizes);
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
    return maxLength * vocabularySize;
  }

  @Override
  public long parameterCount() {
    return layout.total();
  }

  public int vocabularySize() {
    return vocabularySize;
  }

  public int maxLength() {
    return maxLength;
  }

  @Override
  public void initializeInPlace(INDArray parameters, long seed) {
    layout.check(parameters);
    Nd4j.getRandom().setSeed(seed);
    new XavierInitScheme('c', inputSize, 4 * hiddenSize)
        .create(new long[] {inputSize, 4L * hiddenSize}, inputWeights(parameters));
    new XavierInitScheme('c', hiddenSize, 4 * hiddenSize)
        .create(new long[] {hiddenSize, 4L * hiddenSize}, recurrentWeights(parameters));
    LstmInit.biasInPlace(bias(parameters), hiddenSize);
    new XavierInitScheme('c', hiddenSize, vocabularySize)
        .create(new long[] {hiddenSize, vocabularySize}, outputWeights(parameters));
    outputBias(parameters).assign(0);
  }

  @Override
  public Buffers createBuffers(int batchSize, DataType dataType) {
    return new DecoderBuffers(batchSize, dataType);
  }

  @Override
  public INDArray forward(INDArray parameters, INDArray input, Buffers buffers) {
    DecoderBuffers work = (DecoderBuffers) buffers;
    if (input.rank() != 2 || input.size(0) != work.batchSize || input.size(1) != inputSize) {
      throw new IllegalArgumentException(name + ": expected input [" + work.batchSize + ", "
          + inputSize + "], found " + java.util.Arrays.toString(input.shape()));
    }
    work.fusedPass = Kernels.fused(parameters, input);
    if (work.fusedPass) {
      return forwardFused(parameters, input, work);
    }
    for (int t = 0; t < maxLength; t++) {
      work.x.get(NDArrayIndex.all(), NDArrayIndex.point(t), NDArrayIndex.all()).assign(input);
    }
    LstmLayerOp.forward(work.x, inputWeights(parameters), recurrentWeights(parameters),
        bias(parameters), null, work.h, null);
    INDArray hRows = work.h.reshape('c', (long) work.batchSize * maxLength, hiddenSize);
    Nd4j.gemm(hRows, outputWeights(parameters), work.logitRows, false, false, 1.0, 0.0);
    work.logitRows.addiRowVector(outputBias(parameters));
    return work.output;
  }

  @Override
  public INDArray backward(INDArray parameters, INDArray outputGradient, Buffers buffers,
      INDArray parameterGradient, boolean inputGradientNeeded) {
    DecoderBuffers work = (DecoderBuffers) buffers;
    layout.check(parameterGradient);
    // Only after a fused forward pass: the recurrence it kept is this step's.
    if (work.fusedPass && Kernels.fused(parameters, parameterGradient, outputGradient)) {
      return backwardFused(parameters, outputGradient, work, parameterGradient,
          inputGradientNeeded);
    }
    INDArray dLogits = outputGradient.dup('c')
        .reshape('c', (long) work.batchSize * maxLength, vocabularySize);
    INDArray hRows = work.h.reshape('c', (long) work.batchSize * maxLength, hiddenSize);
    INDArray dOutputWeights = outputWeights(parameterGradient);
    Nd4j.gemm(hRows, dLogits, work.dwo, true, false, 1.0, 0.0);
    dOutputWeights.addi(work.dwo);
    outputBias(parameterGradient).addi(dLogits.sum(0));
    Nd4j.gemm(dLogits, outputWeights(parameters), work.dhRows, false, true, 1.0, 0.0);
    LstmLayerOp.backward(work.x, inputWeights(parameters), recurrentWeights(parameters),
        bias(parameters), null, work.dh, null, work.dx, work.dwx, work.dwr, work.db, null);
    inputWeights(parameterGradient).addi(work.dwx);
    recurrentWeights(parameterGradient).addi(work.dwr);
    bias(parameterGradient).addi(work.db);
    if (!inputGradientNeeded) {
      return null;
    }
    // The code fed every time step: its gradient is the sum over steps.
    work.inputGradient.assign(work.dx.sum(1));
    return work.inputGradient;
  }

  /**
   * The forward pass with the code repeated into the time steps by bulk copies and the output
   * projection straight to OpenBLAS on the flat parameters: on ND4J's ops, a view and an assign
   * per time step, a gemm and a row-vector add, each with its fixed cost. The LSTM runs on the
   * heap ({@link HeapLstm}), which keeps its recurrence for the backward pass: with ND4J's native
   * forward op the backward pass ran the recurrence again (bench/run.sh modules: 1.56 ms a pass
   * against 1.8-1.9).
   */
  private INDArray forwardFused(INDArray parameters, INDArray input, DecoderBuffers work) {
    int rows = work.batchSize * maxLength;
    Kernels.readRowMajor(input, work.heapInput, work.heapScratch);
    long x = Kernels.addressOf(work.x);
    for (int b = 0; b < work.batchSize; b++) {
      for (int t = 0; t < maxLength; t++) {
        Kernels.write(work.heapInput, b * inputSize, inputSize,
            x + 4L * ((long) b * maxLength + t) * inputSize);
      }
    }
    // On the heap, keeping the recurrence for the backward pass.
    LstmLayerOp.forward(work.x, inputWeights(parameters), recurrentWeights(parameters),
        bias(parameters), null, work.h, null, work.memo);
    // Logits (row-major [rows, V], the column-major [V, rows]): the bias in every row, then
    // plus W_o^T h^T.
    long flat = Kernels.addressOf(parameters);
    long logits = Kernels.addressOf(work.output);
    Kernels.read(flat + 4 * layout.offset(4), work.heapBias, 0, vocabularySize);
    for (int r = 0; r < rows; r++) {
      Kernels.write(work.heapBias, 0, vocabularySize, logits + 4L * r * vocabularySize);
    }
    Kernels.gemm(outputWeightsAt(flat), true, new Kernels.Matrix(Kernels.addressOf(work.h), rows,
        hiddenSize, false), true, Kernels.Matrix.columnMajor(logits, vocabularySize, rows), 1f, 1f);
    return work.output;
  }

  /**
   * The backward pass with the output projection's products straight to OpenBLAS, its bias
   * gradient and the input gradient's sum over time steps as heap loops, and the LSTM's
   * gradients added into the flat gradient by bulk copies.
   */
  private INDArray backwardFused(INDArray parameters, INDArray outputGradient,
      DecoderBuffers work, INDArray parameterGradient, boolean inputGradientNeeded) {
    int rows = work.batchSize * maxLength;
    // dLogits as row-major [rows, V]: the gradient's own floats when it is row-major.
    INDArray rowMajor = outputGradient.ordering() == 'c' ? outputGradient
        : outputGradient.dup('c');
    long dLogits = Kernels.addressOf(rowMajor);
    Kernels.Matrix dLogitRows = new Kernels.Matrix(dLogits, rows, vocabularySize, false);
    long flat = Kernels.addressOf(parameters);
    long gradient = Kernels.addressOf(parameterGradient);
    // dW_o (row-major [H, V], the column-major [V, H]) += dLogits^T h.
    Kernels.gemm(dLogitRows, true, new Kernels.Matrix(Kernels.addressOf(work.h), rows, hiddenSize,
        false), false, Kernels.Matrix.columnMajor(gradient + 4 * layout.offset(3), vocabularySize,
        hiddenSize), 1f, 1f);
    // db_o += the column sums of dLogits.
    java.util.Arrays.fill(work.heapBias, 0f);
    for (int r = 0; r < rows; r++) {
      Kernels.read(dLogits + 4L * r * vocabularySize, work.heapRow, 0, vocabularySize);
      for (int v = 0; v < vocabularySize; v++) {
        work.heapBias[v] += work.heapRow[v];
      }
    }
    Kernels.addInto(work.heapBias, 0, gradient + 4 * layout.offset(4), vocabularySize,
        work.heapScratch);
    // dh (row-major [rows, H], the column-major [H, rows]) = W_o dLogits^T.
    Kernels.gemm(outputWeightsAt(flat), false, dLogitRows, true,
        Kernels.Matrix.columnMajor(Kernels.addressOf(work.dh), hiddenSize, rows), 1f, 0f);
    LstmLayerOp.backward(work.x, inputWeights(parameters), recurrentWeights(parameters),
        bias(parameters), null, work.dh, null, work.dx, work.dwx, work.dwr, work.db, null,
        work.memo);
    INDArray[] lstmGradients = {work.dwx, work.dwr, work.db};
    for (int block = 0; block < lstmGradients.length; block++) {
      int length = (int) lstmGradients[block].length();
      Kernels.read(lstmGradients[block], work.heapScratch);
      Kernels.addInto(work.heapScratch, 0, gradient + 4 * layout.offset(block), length,
          work.heapSum);
    }
    if (!inputGradientNeeded) {
      return null;
    }
    // The code fed every time step: its gradient is the sum over steps.
    java.util.Arrays.fill(work.heapInput, 0f);
    long dx = Kernels.addressOf(work.dx);
    for (int b = 0; b < work.batchSize; b++) {
      for (int t = 0; t < maxLength; t++) {
        Kernels.read(dx + 4L * ((long) b * maxLength + t) * inputSize, work.heapRow, 0,
            inputSize);
        for (int i = 0; i < inputSize; i++) {
          work.heapInput[b * inputSize + i] += work.heapRow[i];
        }
      }
    }
    Kernels.write(work.heapInput, work.inputGradient);
    return work.inputGradient;
  }

  /** W_o ({@code [H, V]}, row-major) in the flat buffer at {@code flat}. */
  private Kernels.Matrix outputWeightsAt(long flat) {
    return new Kernels.Matrix(flat + 4 * layout.offset(3), hiddenSize, vocabularySize, false);
  }

  private INDArray inputWeights(INDArray flat) {
    return layout.block(flat, 0).reshape('c', inputSize, 4L * hiddenSize);
  }

  private INDArray recurrentWeights(INDArray flat) {
    return layout.block(flat, 1).reshape('c', hiddenSize, 4L * hiddenSize);
  }

  private INDArray bias(INDArray flat) {
    return layout.block(flat, 2);
  }

  private INDArray outputWeights(INDArray flat) {
    return layout.block(flat, 3).reshape('c', hiddenSize, vocabularySize);
  }

  private INDArray outputBias(INDArray flat) {
    return layout.block(flat, 4);
  }

  private final class DecoderBuffers implements Module.Buffers {
    private final int batchSize;
    private final INDArray x;
    private final INDArray h;
    private final INDArray output;
    private final INDArray logitRows;
    private final INDArray dwo;
    private final INDArray dh;
    private final INDArray dhRows;
    private final INDArray dx;
    private final INDArray dwx;
    private final INDArray dwr;
    private final INDArray db;
    private final INDArray inputGradient;
    /** Heap work of the fused path: one example's code each, a bias or a logit row, and two
     *  arrays as long as the largest parameter block. */
    private final float[] heapInput;
    private final float[] heapBias = new float[vocabularySize];
    private final float[] heapRow = new float[Math.max(vocabularySize, inputSize)];
    private final float[] heapScratch;
    private final float[] heapSum;
    /** The fused forward pass's recurrence, for the backward pass of the same step. */
    private final HeapLstm.Memo memo = new HeapLstm.Memo();
    /** Whether the latest forward pass ran on the fused path. */
    private boolean fusedPass;

    DecoderBuffers(int batchSize, DataType dataType) {
      this.batchSize = batchSize;
      x = Nd4j.create(dataType, batchSize, maxLength, inputSize);
      h = Nd4j.create(dataType, batchSize, maxLength, hiddenSize);
      output = Nd4j.create(dataType, batchSize, (long) maxLength * vocabularySize);
      logitRows = output.reshape('c', (long) batchSize * maxLength, vocabularySize);
      dwo = Nd4j.create(dataType, hiddenSize, vocabularySize);
      dh = Nd4j.create(dataType, batchSize, maxLength, hiddenSize);
      dhRows = dh.reshape('c', (long) batchSize * maxLength, hiddenSize);
      dx = Nd4j.create(dataType, batchSize, maxLength, inputSize);
      dwx = Nd4j.create(dataType, inputSize, 4L * hiddenSize);
      dwr = Nd4j.create(dataType, hiddenSize, 4L * hiddenSize);
      db = Nd4j.create(dataType, 4L * hiddenSize);
      inputGradient = Nd4j.create(dataType, batchSize, inputSize);
      heapInput = new float[batchSize * inputSize];
      int largest = (int) Math.max(Math.max(4L * inputSize * hiddenSize,
          4L * hiddenSize * hiddenSize), Math.max((long) batchSize * inputSize, vocabularySize));
      heapScratch = new float[largest];
      heapSum = new float[largest];
    }

    @Override
    public int batchSize() {
      return batchSize;
    }
  }
}
