package tandem.model.module;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.weightinit.impl.XavierInitScheme;

/**
 * A recurrent sequence encoder: token ids {@code [batch, maxLength]} (held as floats, padded with
 * 0 at the end) are embedded, run through one LSTM layer ({@link LstmLayerOp}: ND4J's
 * {@code lstmLayer} and {@code lstmLayer_bp}) up to each example's own length, and the hidden
 * state at its last real token is the output {@code [batch, hiddenSize]}. Padding thus never
 * reaches the code. Parameters in order: embedding {@code [vocabulary, embeddingSize]}, W_x
 * {@code [embeddingSize, 4 hidden]}, W_r {@code [hidden, 4 hidden]}, b {@code [4 hidden]}, all
 * row-major. Immutable.
 */
public final class SequenceEncoder implements Module {

  /** The padding id; a sequence's length is the position of its first padding id. */
  public static final int PADDING = 0;

  private final String name;
  private final int vocabularySize;
  private final int embeddingSize;
  private final int hiddenSize;
  private final int maxLength;
  private final FlatLayout layout;

  public SequenceEncoder(String name, int vocabularySize, int embeddingSize, int hiddenSize,
      int maxLength) {
    if (vocabularySize <= 0 || embeddingSize <= 0 || hiddenSize <= 0 || maxLength <= 0) {
      throw new IllegalArgumentException("expected positive sizes, found vocabulary "
          + vocabularySize + ", embedding " + embeddingSize + ", hidden " + hiddenSize
          + ", max length " + maxLength);
    }
    this.name = name;
    this.vocabularySize = vocabularySize;
    this.embeddingSize = embeddingSize;
    this.hiddenSize = hiddenSize;
    this.maxLength = maxLength;
    long[] sizes = {(long) vocabularySize * embeddingSize, 4L * embeddingSize * hiddenSize,
        4L * hiddenSize * hiddenSize, 4L * hiddenSize};
    layout = new FlatLayout(name, sizes);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public int inputSize() {
    return maxLength;
  }

  @Override
  public int outputSize() {
    return hiddenSize;
  }

  @Override
  public long parameterCount() {
    return layout.total();
  }

  @Override
  public boolean readsIds() {
    return true;
  }

  public int vocabularySize() {
    return vocabularySize;
  }

  @Override
  public void initializeInPlace(INDArray parameters, long seed) {
    layout.check(parameters);
    Nd4j.getRandom().setSeed(seed);
    embedding(parameters).assign(Nd4j.randn(parameters.dataType(), vocabularySize, embeddingSize)
        .muli(0.1));
    new XavierInitScheme('c', embeddingSize, 4 * hiddenSize)
        .create(new long[] {embeddingSize, 4L * hiddenSize}, inputWeights(parameters));
    new XavierInitScheme('c', hiddenSize, 4 * hiddenSize)
        .create(new long[] {hiddenSize, 4L * hiddenSize}, recurrentWeights(parameters));
    LstmInit.biasInPlace(bias(parameters), hiddenSize);
  }

  @Override
  public Buffers createBuffers(int batchSize, DataType dataType) {
    return new EncoderBuffers(batchSize, dataType);
  }

  @Override
  public INDArray forward(INDArray parameters, INDArray input, Buffers buffers) {
    EncoderBuffers work = (EncoderBuffers) buffers;
    if (input.rank() != 2 || input.size(0) != work.batchSize || input.size(1) != maxLength) {
      throw new IllegalArgumentException(name + ": expected input [" + work.batchSize + ", "
          + maxLength + "], found " + java.util.Arrays.toString(input.shape()));
    }
    INDArray table = embedding(parameters);
    double[] lengths = new double[work.batchSize];
    java.util.Arrays.fill(lengths, -1);
    for (int t = 0; t < maxLength; t++) {
      int[] ids = IdRows.ids(input, t, vocabularySize, name);
      work.ids[t] = ids;
      IdRows.gatherInto(table, ids, timeStep(work.x, t));
      for (int row = 0; row < ids.length; row++) {
        if (ids[row] == PADDING && lengths[row] < 0) {
          lengths[row] = t;
        }
      }
    }
    for (int row = 0; row < lengths.length; row++) {
      // An empty sequence reads one padding step, so that its code is defined (and learnable).
      lengths[row] = lengths[row] < 0 ? maxLength : Math.max(1, lengths[row]);
    }
    work.lengths.assign(Nd4j.createFromArray(lengths).castTo(work.lengths.dataType()));
    LstmLayerOp.forward(work.x, inputWeights(parameters), recurrentWeights(parameters),
        bias(parameters), work.lengths, null, work.output, work.memo);
    return work.output;
  }

  @Override
  public INDArray backward(INDArray parameters, INDArray outputGradient, Buffers buffers,
      INDArray parameterGradient, boolean inputGradientNeeded) {
    EncoderBuffers work = (EncoderBuffers) buffers;
    layout.check(parameterGradient);
    if (inputGradientNeeded) {
      throw new IllegalStateException(name + ": a sequence encoder reads ids from data and has "
          + "no input gradient");
    }
    LstmLayerOp.backward(work.x, inputWeights(parameters), recurrentWeights(parameters),
        bias(parameters), work.lengths, null, outputGradient.dup('c'), work.dx, work.dwx,
        work.dwr, work.db, work.dLengths, work.memo);
    inputWeights(parameterGradient).addi(work.dwx);
    recurrentWeights(parameterGradient).addi(work.dwr);
    bias(parameterGradient).addi(work.db);
    INDArray embeddingGradient = embedding(parameterGradient);
    for (int t = 0; t < maxLength; t++) {
      IdRows.scatterAddInPlace(embeddingGradient, work.ids[t], timeStep(work.dx, t));
    }
    return null;
  }

  private static INDArray timeStep(INDArray sequence, int t) {
    return sequence.get(NDArrayIndex.all(), NDArrayIndex.point(t), NDArrayIndex.all());
  }

  private INDArray embedding(INDArray flat) {
    return layout.block(flat, 0).reshape('c', vocabularySize, embeddingSize);
  }

  private INDArray inputWeights(INDArray flat) {
    return layout.block(flat, 1).reshape('c', embeddingSize, 4L * hiddenSize);
  }

  private INDArray recurrentWeights(INDArray flat) {
    return layout.block(flat, 2).reshape('c', hiddenSize, 4L * hiddenSize);
  }

  private INDArray bias(INDArray flat) {
    return layout.block(flat, 3);
  }

  private final class EncoderBuffers implements Module.Buffers {
    private final int batchSize;
    private final int[][] ids = new int[maxLength][];
    private final INDArray x;
    private final INDArray lengths;
    private final INDArray output;
    private final INDArray dx;
    private final INDArray dwx;
    private final INDArray dwr;
    private final INDArray db;
    private final INDArray dLengths;
    /** The forward pass's recurrence, for the backward pass of the same step. */
    private final HeapLstm.Memo memo = new HeapLstm.Memo();

    EncoderBuffers(int batchSize, DataType dataType) {
      this.batchSize = batchSize;
      x = Nd4j.create(dataType, batchSize, maxLength, embeddingSize);
      lengths = Nd4j.create(dataType, batchSize);
      output = Nd4j.create(dataType, batchSize, hiddenSize);
      dx = Nd4j.create(dataType, batchSize, maxLength, embeddingSize);
      dwx = Nd4j.create(dataType, embeddingSize, 4L * hiddenSize);
      dwr = Nd4j.create(dataType, hiddenSize, 4L * hiddenSize);
      db = Nd4j.create(dataType, 4L * hiddenSize);
      dLengths = Nd4j.create(dataType, batchSize);
    }

    @Override
    public int batchSize() {
      return batchSize;
    }
  }
}
