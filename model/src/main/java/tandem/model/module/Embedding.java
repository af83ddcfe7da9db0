package tandem.model.module;

import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import tandem.model.kernel.Kernels;

/**
 * Lookup tables from integer ids to vectors, applied to consecutive column groups of an id input
 * and concatenated: one table over one column is a plain embedding, a word table over a window of
 * columns followed by a feature table (capitalisation) over as many is a window embedding. Input
 * {@code [batch, sum of columns]} of ids held as floats; output {@code [batch, sum of columns x
 * dimension]}, column by column. Parameters: each table {@code [vocabulary, dimension]},
 * row-major, in order. Ids are data, so there is no input gradient: an embedding must read a data
 * field. Immutable.
 *
 * <p>On the fused CPU path ({@link Kernels#fused}) the ids are read once per batch and each
 * example's table rows are copied straight between the flat buffers and a heap copy of the output
 * (forward) or of its gradient (backward, adding up repeated ids); the ND4J path gathers and
 * scatter-adds one column at a time with ND4J's ops ({@link IdRows}).
 */
public final class Embedding implements Module {

  /** One table: ids in {@code [0, vocabularySize)}, vectors of {@code dimension}, over {@code columns}. */
  public record Table(int vocabularySize, int dimension, int columns) {
    public Table {
      if (vocabularySize <= 0 || dimension <= 0 || columns <= 0) {
        throw new IllegalArgumentException("expected a positive vocabulary size, dimension and "
            + "columns, found " + vocabularySize + ", " + dimension + ", " + columns);
      }
    }
  }

  private final String name;
  private final List<Table> tables;
  private final FlatLayout layout;
  private final int inputSize;
  private final int outputSize;

  public Embedding(String name, List<Table> tables) {
    if (tables.isEmpty()) {
      throw new IllegalArgumentException("expected at least one table, found none");
    }
    this.name = name;
    this.tables = List.copyOf(tables);
    long[] sizes = new long[tables.size()];
    int in = 0;
    int out = 0;
    for (int t = 0; t < tables.size(); t++) {
      Table table = tables.get(t);
      sizes[t] = (long) table.vocabularySize() * table.dimension();
      in += table.columns();
      out += table.columns() * table.dimension();
    }
    this.layout = new FlatLayout(name, sizes);
    this.inputSize = in;
    this.outputSize = out;
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
    return outputSize;
  }

  @Override
  public long parameterCount() {
    return layout.total();
  }

  @Override
  public boolean readsIds() {
    return true;
  }

  public List<Table> tables() {
    return tables;
  }

  /** Vocabulary size of the table that reads input column {@code column}. */
  public int vocabularySizeOfColumn(int column) {
    int start = 0;
    for (Table table : tables) {
      if (column < start + table.columns()) {
        return table.vocabularySize();
      }
      start += table.columns();
    }
    throw new IndexOutOfBoundsException("column " + column + " of " + inputSize);
  }

  @Override
  public void initializeInPlace(INDArray parameters, long seed) {
    layout.check(parameters);
    Nd4j.getRandom().setSeed(seed);
    // N(0, 1) like DL4J's EmbeddingLayer default scale is too large for small nets; 0.1 keeps
    // the first layers out of saturation.
    parameters.assign(Nd4j.randn(parameters.dataType(), parameters.length()).muli(0.1));
  }

  @Override
  public Buffers createBuffers(int batchSize, DataType dataType) {
    return new EmbeddingBuffers(batchSize, Nd4j.create(dataType, batchSize, outputSize));
  }

  @Override
  public INDArray forward(INDArray parameters, INDArray input, Buffers buffers) {
    EmbeddingBuffers work = (EmbeddingBuffers) buffers;
    if (input.rank() != 2 || input.size(0) != work.batchSize || input.size(1) != inputSize) {
      throw new IllegalArgumentException(name + ": expected input [" + work.batchSize + ", "
          + inputSize + "], found " + java.util.Arrays.toString(input.shape()));
    }
    work.fusedPass = Kernels.fused(parameters, input, work.output);
    if (work.fusedPass) {
      return forwardFused(parameters, input, work);
    }
    int column = 0;
    int outColumn = 0;
    for (int t = 0; t < tables.size(); t++) {
      Table table = tables.get(t);
      INDArray weights = table(parameters, t);
      for (int c = 0; c < table.columns(); c++) {
        int[] ids = IdRows.ids(input, column, table.vocabularySize(), name);
        work.ids[column] = ids;
        IdRows.gatherInto(weights, ids, slice(work.output, outColumn, table.dimension()));
        column++;
        outColumn += table.dimension();
      }
    }
    return work.output;
  }

  @Override
  public INDArray backward(INDArray parameters, INDArray outputGradient, Buffers buffers,
      INDArray parameterGradient, boolean inputGradientNeeded) {
    EmbeddingBuffers work = (EmbeddingBuffers) buffers;
    layout.check(parameterGradient);
    if (inputGradientNeeded) {
      throw new IllegalStateException(name + ": an embedding reads ids from data and has no "
          + "input gradient");
    }
    if (work.fusedPass && Kernels.fused(parameterGradient, outputGradient)) {
      backwardFused(parameterGradient, outputGradient, work);
      return null;
    }
    int column = 0;
    int outColumn = 0;
    for (int t = 0; t < tables.size(); t++) {
      Table table = tables.get(t);
      INDArray gradient = table(parameterGradient, t);
      for (int c = 0; c < table.columns(); c++) {
        IdRows.scatterAddInPlace(gradient, work.ids[column],
            slice(outputGradient, outColumn, table.dimension()));
        column++;
        outColumn += table.dimension();
      }
    }
    return null;
  }

  private INDArray forwardFused(INDArray parameters, INDArray input, EmbeddingBuffers work) {
    int rows = work.batchSize;
    work.ensureHeap();
    Kernels.readRowMajor(input, work.heapInput, work.heapScratch);
    float[] out = work.heapOutput;
    // Looked up once: ND4J's address lookup costs about half a microsecond, and a batch copies
    // thousands of rows.
    long tableAddress = Kernels.addressOf(parameters);
    int column = 0;
    int outColumn = 0;
    for (int t = 0; t < tables.size(); t++) {
      Table table = tables.get(t);
      int dimension = table.dimension();
      long base = layout.offset(t);
      for (int c = 0; c < table.columns(); c++) {
        int[] ids = work.ids[column];
        for (int r = 0; r < rows; r++) {
          float value = work.heapInput[r * inputSize + column];
          int id = (int) value;
          if (id != value || id < 0 || id >= table.vocabularySize()) {
            throw new IllegalArgumentException(name + ": row " + r + ", column " + column
                + " holds id " + value + ", outside the vocabulary [0, "
                + table.vocabularySize() + ")");
          }
          ids[r] = id;
          Kernels.read(tableAddress + 4 * (base + (long) id * dimension), out,
              r * outputSize + outColumn, dimension);
        }
        column++;
        outColumn += dimension;
      }
    }
    Kernels.write(out, work.output);
    return work.output;
  }

  private void backwardFused(INDArray parameterGradient, INDArray outputGradient,
      EmbeddingBuffers work) {
    int rows = work.batchSize;
    float[] gradient = work.heapOutput;
    Kernels.readRowMajor(outputGradient, gradient, work.heapScratch);
    long tableGradients = Kernels.addressOf(parameterGradient);
    int column = 0;
    int outColumn = 0;
    for (int t = 0; t < tables.size(); t++) {
      Table table = tables.get(t);
      int dimension = table.dimension();
      long base = layout.offset(t);
      for (int c = 0; c < table.columns(); c++) {
        int[] ids = work.ids[column];
        for (int r = 0; r < rows; r++) {
          Kernels.addInto(gradient, r * outputSize + outColumn,
              tableGradients + 4 * (base + (long) ids[r] * dimension), dimension,
              work.heapScratch);
        }
        column++;
        outColumn += dimension;
      }
    }
  }

  private INDArray table(INDArray flat, int t) {
    Table table = tables.get(t);
    return layout.block(flat, t).reshape('c', table.vocabularySize(), table.dimension());
  }

  private static INDArray slice(INDArray array, int start, int width) {
    return array.get(NDArrayIndex.all(), NDArrayIndex.interval(start, start + width));
  }

  private final class EmbeddingBuffers implements Module.Buffers {
    private final int batchSize;
    private final INDArray output;
    private final int[][] ids = new int[inputSize][];
    /** Whether the last forward pass took the fused path (its backward pass must too). */
    private boolean fusedPass;
    /** The fused path's heap copies, row-major, made on its first pass. */
    private float[] heapInput;
    private float[] heapOutput;
    private float[] heapScratch;

    EmbeddingBuffers(int batchSize, INDArray output) {
      this.batchSize = batchSize;
      this.output = output;
    }

    void ensureHeap() {
      if (heapInput != null) {
        return;
      }
      heapInput = new float[batchSize * inputSize];
      heapOutput = new float[batchSize * outputSize];
      heapScratch = new float[batchSize * Math.max(inputSize, outputSize)];
      for (int c = 0; c < inputSize; c++) {
        ids[c] = new int[batchSize];
      }
    }

    @Override
    public int batchSize() {
      return batchSize;
    }
  }
}
