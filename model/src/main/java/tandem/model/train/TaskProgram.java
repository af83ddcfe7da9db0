package tandem.model.train;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.model.data.Batch;
import tandem.model.data.ClassField;
import tandem.model.data.DataSet;
import tandem.model.data.Vocabulary;
import tandem.model.eval.ChunkScore;
import tandem.model.eval.ChunkScorer;
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
  private final Map<Integer, Work> workByBatchSize = new HashMap<>();
  private final PathRunner path;

  public TaskProgram(TaskGraph task, DataType dataType) {
    this.task = task;
    this.dataType = dataType;
    this.path = new PathRunner(task.steps(), task.input(), dataType);
  }

  public TaskGraph task() {
    return task;
  }

  /**
   * Computes the loss of {@code batch} and writes dLoss/dParameters of every module this task
   * runs into {@code gradients} (overwriting them). Both maps are keyed by module name and hold
   * flat buffers; parameters are only read.
   */
  public StepResult computeGradients(Map<String, INDArray> parameters, Batch batch,
      Map<String, INDArray> gradients) {
    Work work = work(batch.size());
    for (String module : task.moduleNames()) {
      gradients.get(module).assign(0);
    }
    INDArray pathOutput = path.forward(parameters, batch);
    work.pathGradient.assign(0);
    double loss = 0;
    Map<String, Double> outputLosses = new LinkedHashMap<>();
    for (int o = 0; o < task.outputs().size(); o++) {
      OutputGraph output = task.outputs().get(o);
      INDArray logits = forwardOutput(parameters, pathOutput, work.outputBuffers.get(o), output);
      INDArray labels = batch.field(output.label());
      double outputLoss = output.loss().score(labels, logits);
      outputLosses.put(output.name(), outputLoss);
      loss += output.weight() * outputLoss;
      INDArray epsilon = output.loss().gradient(labels, logits);
      if (output.weight() != 1.0) {
        epsilon.muli(output.weight());
      }
      List<Module.Buffers> buffers = work.outputBuffers.get(o);
      for (int m = output.modules().size() - 1; m >= 0; m--) {
        Module module = output.modules().get(m);
        boolean inputNeeded = m > 0 || !task.steps().isEmpty();
        epsilon = module.backward(parameters.get(module.name()), epsilon, buffers.get(m),
            gradients.get(module.name()), inputNeeded);
      }
      if (epsilon != null) {
        work.pathGradient.addi(epsilon);
      }
    }
    path.backward(parameters, work.pathGradient, gradients);
    return new StepResult(loss, outputLosses, batch.size());
  }

  /**
   * Each output's metric ({@link OutputGraph#metric()}) over all of {@code data}, in batches of
   * the task's batch size, keyed by output name in spec order. Metrics per example are averaged;
   * {@code chunk_f1} is scored on the predicted tags of the whole data set at once, since a
   * chunk may cross a batch boundary.
   */
  public Map<String, Double> evaluate(Map<String, INDArray> parameters, DataSet data) {
    List<OutputGraph> outputs = task.outputs();
    double[] sums = new double[outputs.size()];
    int[][] predicted = new int[outputs.size()][];
    for (int o = 0; o < outputs.size(); o++) {
      if (isChunkF1(outputs.get(o))) {
        predicted[o] = new int[data.size()];
      }
    }
    forEachBatch(parameters, data, (start, batch, logits) -> {
      for (int o = 0; o < outputs.size(); o++) {
        OutputGraph output = outputs.get(o);
        if (predicted[o] != null) {
          argMaxInto(logits.get(o), predicted[o], start);
        } else {
          sums[o] += output.loss().metricSum(batch.field(output.label()), logits.get(o));
        }
      }
    });
    Map<String, Double> metrics = new LinkedHashMap<>();
    for (int o = 0; o < sums.length; o++) {
      OutputGraph output = outputs.get(o);
      double value = predicted[o] != null
          ? chunkScore(output, data, predicted[o]).f1() : sums[o] / data.size();
      metrics.put(output.name(), value);
    }
    return metrics;
  }

  /**
   * The chunk counts (precision, recall, F1) of output {@code outputName}, whose labels are IOB2
   * chunk tags, over all of {@code data}.
   */
  public ChunkScore chunkScore(Map<String, INDArray> parameters, DataSet data, String outputName) {
    int o = outputIndex(outputName);
    int[] predicted = new int[data.size()];
    forEachBatch(parameters, data, (start, batch, logits) ->
        argMaxInto(logits.get(o), predicted, start));
    return chunkScore(task.outputs().get(o), data, predicted);
  }

  /** The class each example of {@code data} gets from output {@code outputName} (argmax). */
  public int[] predictClasses(Map<String, INDArray> parameters, DataSet data, String outputName) {
    int o = outputIndex(outputName);
    int[] predicted = new int[data.size()];
    forEachBatch(parameters, data, (start, batch, logits) ->
        argMaxInto(logits.get(o), predicted, start));
    return predicted;
  }

  private static boolean isChunkF1(OutputGraph output) {
    return output.metric().equals(ChunkScorer.METRIC);
  }

  private static ChunkScore chunkScore(OutputGraph output, DataSet data, int[] predicted) {
    Vocabulary tags = data.vocabularies().get(output.label());
    if (tags == null || !(data.field(output.label()) instanceof ClassField gold)) {
      throw new IllegalArgumentException("output " + output.name() + ": expected a class field '"
          + output.label() + "' named by chunk tags in " + data.name());
    }
    return new ChunkScorer(tags.tokens()).score(gold.ids(), predicted, data.sentenceStarts());
  }

  private int outputIndex(String outputName) {
    for (int o = 0; o < task.outputs().size(); o++) {
      if (task.outputs().get(o).name().equals(outputName)) {
        return o;
      }
    }
    throw new IllegalArgumentException("task " + task.name() + " has no output '" + outputName
        + "'");
  }

  /** Receives each evaluation batch, the row its first example has, and every output's logits. */
  private interface BatchLogits {
    void accept(int start, Batch batch, List<INDArray> logits);
  }

  private void forEachBatch(Map<String, INDArray> parameters, DataSet data, BatchLogits sink) {
    int batchSize = Math.min(task.batchSize(), data.size());
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

  private static void argMaxInto(INDArray logits, int[] classes, int start) {
    int[] batch = logits.argMax(1).toIntVector();
    System.arraycopy(batch, 0, classes, start, batch.length);
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

  private Work work(int batchSize) {
    return workByBatchSize.computeIfAbsent(batchSize, size -> new Work(size));
  }

  /** Buffers of every module of the task for one batch size. */
  private final class Work {
    final List<List<Module.Buffers>> outputBuffers = new ArrayList<>();
    final INDArray pathGradient;

    Work(int batchSize) {
      for (OutputGraph output : task.outputs()) {
        List<Module.Buffers> buffers = new ArrayList<>();
        for (Module module : output.modules()) {
          buffers.add(module.createBuffers(batchSize, dataType));
        }
        outputBuffers.add(buffers);
      }
      int width = task.outputs().get(0).modules().get(0).inputSize();
      pathGradient = org.nd4j.linalg.factory.Nd4j.zeros(dataType, batchSize, width);
    }
  }
}
