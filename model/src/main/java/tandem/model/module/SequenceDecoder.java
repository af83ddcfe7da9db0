package tandem.model.module;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.weightinit.impl.XavierInitScheme;

/**
 * A recurrent sequence decoder: the input code {@code [batch, inputSize]} is repeated at each of
 * {@code maxLength} time steps, run through one LSTM layer ({@link LstmLayerOp}: ND4J's
 * {@code lstmLayer} and {@code lstmLayer_bp}) and projected to logits over the vocabulary at every
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
    }

    @Override
    public int batchSize() {
      return batchSize;
    }
  }
}
