package tandem.orchestrator.serving;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import tandem.model.bundle.TaskPredictor;
import tandem.model.data.Batch;

/**
 * Runs prediction requests: requests for the same model, task and fields are batched by a
 * {@link MicroBatcher} (up to the settings' delay and rows), run as one forward pass on the
 * inference threads, and each request gets its own rows back. Thread-safe; {@link #close} stops
 * its threads.
 */
public final class Predictions implements AutoCloseable {

  /**
   * One request's examples: row-major values per field (every field {@code rows} rows of its
   * width), checked against the task by the caller.
   */
  public record Input(Map<String, float[]> fields, Map<String, Integer> widths, int rows) {}

  /** What a batch shares: requests with different fields cannot be stacked. */
  private record Key(ServedModel model, String task, List<String> fields) {}

  private final ScheduledExecutorService timer;
  private final ExecutorService compute;
  private final MicroBatcher<Key, Input, List<TaskPredictor.OutputScores>> batcher;
  private final java.util.function.BiConsumer<String, java.time.Duration> latency;
  private final java.util.concurrent.atomic.AtomicLong batchesRun =
      new java.util.concurrent.atomic.AtomicLong();

  public Predictions(ServingSettings settings) {
    this(settings, (model, time) -> { });
  }

  /** @param latency told each request's model name and time to its rows (the metrics) */
  public Predictions(ServingSettings settings,
      java.util.function.BiConsumer<String, java.time.Duration> latency) {
    this.latency = latency;
    this.timer = Executors.newSingleThreadScheduledExecutor(daemon("tandem-inference-timer"));
    this.compute = Executors.newFixedThreadPool(settings.computeThreads(),
        daemon("tandem-inference"));
    this.batcher = new MicroBatcher<>(settings.maxDelay(), settings.maxBatchRows(), timer,
        compute, (key, inputs) -> {
          batchesRun.incrementAndGet();
          return run(key, inputs);
        });
  }

  /** Every output's scores for {@code input}'s rows, once its batch has run. */
  public CompletableFuture<List<TaskPredictor.OutputScores>> predict(ServedModel model,
      String task, Input input) {
    Key key = new Key(model, task, List.copyOf(input.fields().keySet()));
    long start = System.nanoTime();
    CompletableFuture<List<TaskPredictor.OutputScores>> rows =
        batcher.submit(key, input, input.rows());
    rows.thenRun(() -> latency.accept(model.name(),
        java.time.Duration.ofNanos(System.nanoTime() - start)));
    return rows;
  }

  /** Forward passes run so far, each for one batch of requests (tests check batching with it). */
  public long batchesRun() {
    return batchesRun.get();
  }

  private static List<List<TaskPredictor.OutputScores>> run(Key key, List<Input> inputs) {
    int total = inputs.stream().mapToInt(Input::rows).sum();
    Map<String, INDArray> fields = new LinkedHashMap<>();
    for (String field : key.fields()) {
      int width = inputs.get(0).widths().get(field);
      float[] stacked = new float[total * width];
      int offset = 0;
      for (Input input : inputs) {
        float[] values = input.fields().get(field);
        System.arraycopy(values, 0, stacked, offset, values.length);
        offset += values.length;
      }
      fields.put(field, Nd4j.create(stacked, new long[] {total, width}, 'c'));
    }
    List<TaskPredictor.OutputScores> all = key.model().withPredictor(key.task(),
        predictor -> predictor.predict(new Batch(total, fields)));
    if (inputs.size() == 1) {
      return List.of(all);
    }
    List<List<TaskPredictor.OutputScores>> perInput = new ArrayList<>();
    int start = 0;
    for (Input input : inputs) {
      List<TaskPredictor.OutputScores> mine = new ArrayList<>();
      for (TaskPredictor.OutputScores output : all) {
        mine.add(new TaskPredictor.OutputScores(output.output(), output.loss(),
            output.scores().get(NDArrayIndex.interval(start, start + input.rows()),
                NDArrayIndex.all()).dup()));
      }
      perInput.add(mine);
      start += input.rows();
    }
    return perInput;
  }

  @Override
  public void close() {
    timer.shutdownNow();
    compute.shutdownNow();
  }

  private static ThreadFactory daemon(String name) {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, name + "-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }
}
