package tandem.model.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.model.data.Batch;
import tandem.model.data.ClassField;
import tandem.model.data.DataSet;
import tandem.model.data.Vocabulary;
import tandem.model.eval.ChunkScore;
import tandem.model.eval.ChunkDecoding;
import tandem.model.eval.ChunkScorer;
import tandem.model.eval.Iob2Decoder;
import tandem.model.kernel.Kernels;
import tandem.model.module.Module;
import tandem.model.spec.OutputGraph;
import tandem.model.spec.TaskGraph;

/**
 * Runs one task's step: forward along the path and every output, the weighted sum of the output
 * losses, and backward into per-module gradient buffers. Holds the work arrays of each batch size
 * it has seen, so a steady run allocates only the loss gradients. Parameters and gradients are
 * passed in by module name, which lets the same program run on a worker's replica and on a plain
 * sequential loop. Confined to one thread.
 */
public final class TaskProgram {

  private final TaskGraph task;
  private final DataType dataType;
  /**
   * Buffer sets by batch size, the most recently used {@value #CACHED_BATCH_SIZES}: training uses
   * one or two sizes, evaluation one more; Predict requests bring any size.
   */
  private final Map<Integer, Work> workByBatchSize = new LruCache<>(CACHED_BATCH_SIZES);
  static final int CACHED_BATCH_SIZES = 8;
  private final PathRunner path;
  /** The task's modules, path first: computed once, every step walks them. */
  private final List<String> moduleNames;

  public TaskProgram(TaskGraph task, DataType dataType) {
    this.task = task;
    this.moduleNames = List.copyOf(task.moduleNames());
    this.dataType = dataType;
    this.path = new PathRunner(task.steps(), task.input(), dataType);
  }

  public TaskGraph task() {
    return task;
  }

  /** {@link TaskGraph#moduleNames()} of the task, made once. */
  public List<String> moduleNames() {
    return moduleNames;
  }

  /**
   * Computes the loss of {@code batch} and writes dLoss/dParameters of every module this task
   * runs into {@code gradients} (overwriting them). Both maps are keyed by module name and hold
   * flat buffers; parameters are only read.
   */
  public StepResult computeGradients(Map<String, INDArray> parameters, Batch batch,
      Map<String, INDArray> gradients) {
    Work work = work(batch.size());
    for (String module : moduleNames) {
      INDArray gradient = gradients.get(module);
      if (Kernels.fused(gradient)) {
        Kernels.zero(gradient);
      } else {
        gradient.assign(0);
      }
    }
    INDArray pathOutput = path.forward(parameters, batch);
    INDArray pathEpsilon = null;
    double loss = 0;
    Map<String, Double> outputLosses = new LinkedHashMap<>();
    for (int o = 0; o < task.outputs().size(); o++) {
      OutputGraph output = task.outputs().get(o);
      INDArray logits = forwardOutput(parameters, pathOutput, work.outputBuffers.get(o), output);
      INDArray labels = batch.field(output.label());
      INDArray epsilon = work.logitGradient(o, logits);
      double outputLoss = output.loss().scoreAndGradient(labels, logits, output.weight(),
          epsilon);
      outputLosses.put(output.name(), outputLoss);
      loss += output.weight() * outputLoss;
      List<Module.Buffers> buffers = work.outputBuffers.get(o);
      for (int m = output.modules().size() - 1; m >= 0; m--) {
        Module module = output.modules().get(m);
        boolean inputNeeded = m > 0 || !task.steps().isEmpty();
        epsilon = module.backward(parameters.get(module.name()), epsilon, buffers.get(m),
            gradients.get(module.name()), inputNeeded);
      }
      if (epsilon != null) {
        pathEpsilon = pathEpsilon == null ? epsilon : work.sum(pathEpsilon, epsilon);
      }
    }
    if (pathEpsilon != null) {
      path.backward(parameters, pathEpsilon, gradients);
    }
    return new StepResult(loss, outputLosses, batch.size());
  }

  /**
   * Each output's metric ({@link OutputGraph#metric()}) over all of {@code data}, in batches of
   * the task's batch size, keyed by output name in spec order. Metrics per example are averaged;
   * {@code chunk_f1} is scored on the whole data set at once (a chunk may cross a batch
   * boundary), on each sentence's best valid IOB2 tags ({@link ChunkDecoding#VITERBI}).
   */
  public Map<String, Double> evaluate(Map<String, INDArray> parameters, DataSet data) {
    List<OutputGraph> outputs = task.outputs();
    double[] sums = new double[outputs.size()];
    float[][] scores = new float[outputs.size()][];
    for (int o = 0; o < outputs.size(); o++) {
      if (outputs.get(o).metric().equals(ChunkScorer.METRIC)) {
        scores[o] = new float[0];
      }
    }
    forEachBatch(parameters, data, (start, batch, logits) -> {
      for (int o = 0; o < outputs.size(); o++) {
        OutputGraph output = outputs.get(o);
        if (scores[o] != null) {
          scores[o] = logSoftmaxInto(logits.get(o), scores[o], start, data.size());
        } else {
          sums[o] += output.loss().metricSum(batch.field(output.label()), logits.get(o));
        }
      }
    });
    Map<String, Double> metrics = new LinkedHashMap<>();
    for (int o = 0; o < sums.length; o++) {
      OutputGraph output = outputs.get(o);
      double value = scores[o] != null
          ? chunkScore(output, data, scores[o], ChunkDecoding.VITERBI).f1()
          : sums[o] / data.size();
      metrics.put(output.name(), value);
    }
    return metrics;
  }

  /**
   * The chunk counts (precision, recall, F1) of output {@code outputName}, whose labels are IOB2
   * chunk tags, over all of {@code data}, its tags decoded by {@code decoding}.
   */
  public ChunkScore chunkScore(Map<String, INDArray> parameters, DataSet data, String outputName,
      ChunkDecoding decoding) {
    return chunkScore(output(outputName), data, logSoftmax(parameters, data, outputName),
        decoding);
  }

  /** The class each example of {@code data} gets from output {@code outputName} (argmax). */
  public int[] predictClasses(Map<String, INDArray> parameters, DataSet data, String outputName) {
    return Kernels.argMaxRows(logSoftmax(parameters, data, outputName), data.size());
  }

  private float[] logSoftmax(Map<String, INDArray> parameters, DataSet data, String outputName) {
    int o = task.outputs().indexOf(output(outputName));
    float[][] scores = {new float[0]};
    forEachBatch(parameters, data, (start, batch, logits) ->
        scores[0] = logSoftmaxInto(logits.get(o), scores[0], start, data.size()));
    return scores[0];
  }

  private static ChunkScore chunkScore(OutputGraph output, DataSet data, float[] logProbabilities,
      ChunkDecoding decoding) {
    Vocabulary tags = data.vocabularies().get(output.label());
    if (tags == null || !(data.field(output.label()) instanceof ClassField gold)) {
      throw new IllegalArgumentException("output " + output.name() + ": expected a class field '"
          + output.label() + "' named by chunk tags in " + data.name());
    }
    int[] starts = data.sentenceStarts();
    int[] predicted;
    if (decoding == ChunkDecoding.GREEDY) {
      predicted = Kernels.argMaxRows(logProbabilities, data.size());
    } else {
      predicted = new int[data.size()];
      Iob2Decoder decoder = new Iob2Decoder(tags.tokens());
      int sentences = Math.max(1, starts.length);
      for (int s = 0; s < sentences; s++) {
        int from = starts.length == 0 ? 0 : starts[s];
        int to = s + 1 < starts.length ? starts[s + 1] : data.size();
        decoder.decodeInto(logProbabilities, from * tags.size(), to - from, predicted, from);
      }
    }
    return new ChunkScorer(tags.tokens()).score(gold.ids(), predicted, starts);
  }

  private OutputGraph output(String outputName) {
    return task.outputs().stream().filter(o -> o.name().equals(outputName)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("task " + task.name()
            + " has no output '" + outputName + "'"));
  }

  /** Receives each evaluation batch, the row its first example has, and every output's logits. */
  private interface BatchLogits {
    void accept(int start, Batch batch, List<INDArray> logits);
  }

  /**
   * Rows per forward pass when evaluating or predicting, at least: forward passes keep no
   * gradients, and every op has a fixed cost, so small training batches made the two-head
   * benchmark's final evaluation (2 x 8192 rows in batches of 64) take 4-5% of a 2000-step job.
   */
  static final int EVALUATION_ROWS = 1024;

  private void forEachBatch(Map<String, INDArray> parameters, DataSet data, BatchLogits sink) {
    int batchSize = Math.min(Math.max(task.batchSize(), EVALUATION_ROWS), data.size());
    for (int start = 0; start < data.size(); start += batchSize) {
      int size = Math.min(batchSize, data.size() - start);
      int[] rows = new int[size];
      for (int i = 0; i < size; i++) {
        rows[i] = start + i;
      }
      Batch batch = data.batch(rows, dataType);
      Work work = work(size);
      INDArray pathOutput = path.forward(parameters, batch);
      List<INDArray> logits = new ArrayList<>(task.outputs().size());
      for (int o = 0; o < task.outputs().size(); o++) {
        logits.add(forwardOutput(parameters, pathOutput, work.outputBuffers.get(o),
            task.outputs().get(o)));
      }
      sink.accept(start, batch, logits);
    }
  }

  /**
   * Writes the log-softmax of each row of {@code logits} ({@code [batch, classes]}) into
   * {@code scores} from row {@code start}, allocating it for {@code rows} rows on first use.
   */
  private static float[] logSoftmaxInto(INDArray logits, float[] scores, int start, int rows) {
    int classes = (int) logits.size(1);
    int batchRows = (int) logits.size(0);
    float[] out = scores.length == 0 ? new float[rows * classes] : scores;
    // One row-major copy of the batch, read in place: no array per row.
    float[] batch = Kernels.rowMajor(logits);
    for (int i = 0; i < batchRows; i++) {
      int from = i * classes;
      double max = Double.NEGATIVE_INFINITY;
      for (int k = 0; k < classes; k++) {
        max = Math.max(max, batch[from + k]);
      }
      double sum = 0;
      for (int k = 0; k < classes; k++) {
        sum += Math.exp(batch[from + k] - max);
      }
      double logSum = max + Math.log(sum);
      int base = (start + i) * classes;
      for (int k = 0; k < classes; k++) {
        out[base + k] = (float) (batch[from + k] - logSum);
      }
    }
    return out;
  }

  /**
   * Each output's logits (its last module's output, before the loss's activation) for
   * {@code batch}, keyed by output name in spec order: the path and the task's outputs forward,
   * nothing else. The arrays belong to this program and are overwritten by its next call.
   */
  public Map<String, INDArray> predict(Map<String, INDArray> parameters, Batch batch) {
    Work work = work(batch.size());
    INDArray pathOutput = path.forward(parameters, batch);
    Map<String, INDArray> logits = new LinkedHashMap<>();
    for (int o = 0; o < task.outputs().size(); o++) {
      OutputGraph output = task.outputs().get(o);
      logits.put(output.name(),
          forwardOutput(parameters, pathOutput, work.outputBuffers.get(o), output));
    }
    return logits;
  }

  private static INDArray forwardOutput(Map<String, INDArray> parameters, INDArray pathOutput,
      List<Module.Buffers> buffers, OutputGraph output) {
    INDArray x = pathOutput;
    for (int m = 0; m < output.modules().size(); m++) {
      Module module = output.modules().get(m);
      x = module.forward(parameters.get(module.name()), x, buffers.get(m));
    }
    return x;
  }

  /** How many batch sizes have buffer sets now (at most {@link #CACHED_BATCH_SIZES}). */
  int cachedBatchSizes() {
    return workByBatchSize.size();
  }

  /** How many row counts have buffers now in the path's modules, at most. */
  int cachedRowCounts() {
    return path.cachedRowCounts();
  }

  private Work work(int batchSize) {
    return workByBatchSize.computeIfAbsent(batchSize, size -> new Work(size));
  }

  /** Buffers of every module of the task for one batch size. */
  private final class Work {
    final List<List<Module.Buffers>> outputBuffers = new ArrayList<>();
    /** Each output's dLoss/dLogits, shaped like its logits (made on first use). */
    final List<INDArray> logitGradients = new ArrayList<>();
    /** The sum of the outputs' gradients at the path's end, when there are several. */
    final INDArray pathGradient;
    private float[] heapSum;
    private float[] heapTerm;
    private float[] heapScratch;

    Work(int batchSize) {
      for (OutputGraph output : task.outputs()) {
        List<Module.Buffers> buffers = new ArrayList<>();
        for (Module module : output.modules()) {
          buffers.add(module.createBuffers(batchSize, dataType));
        }
        outputBuffers.add(buffers);
        logitGradients.add(null);
      }
      int width = task.outputs().get(0).modules().get(0).inputSize();
      pathGradient = Nd4j.create(dataType, new long[] {batchSize, width}, 'f');
    }

    INDArray logitGradient(int output, INDArray logits) {
      INDArray gradient = logitGradients.get(output);
      if (gradient == null || !java.util.Arrays.equals(gradient.shape(), logits.shape())) {
        gradient = Nd4j.createUninitialized(dataType, logits.shape(), 'f');
        logitGradients.set(output, gradient);
      }
      return gradient;
    }

    /** {@code first + second} into {@link #pathGradient} (which {@code first} may be). */
    INDArray sum(INDArray first, INDArray second) {
      if (!Kernels.fused(pathGradient, first, second)) {
        if (first != pathGradient) {
          pathGradient.assign(first);
        }
        return pathGradient.addi(second);
      }
      int length = (int) pathGradient.length();
      heapSum = Kernels.ensure(heapSum, length);
      heapTerm = Kernels.ensure(heapTerm, length);
      heapScratch = Kernels.ensure(heapScratch, length);
      Kernels.readColumnMajor(first, heapSum, heapScratch);
      Kernels.readColumnMajor(second, heapTerm, heapScratch);
      for (int i = 0; i < length; i++) {
        heapSum[i] += heapTerm[i];
      }
      Kernels.write(heapSum, pathGradient);
      return pathGradient;
    }
  }
}
