package tandem.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import tandem.model.spec.TaskGraph;
import tandem.model.spec.TrainingPlan;
import tandem.model.train.SequentialTraining;
import tandem.model.train.StepResult;

/**
 * The baseline: {@link SequentialTraining} over a compiled plan on the calling thread, tasks in
 * strict alternation (what {@code round_robin} dispatches), then the final evaluation a job ends
 * with (every task on its evaluation data), timed with {@link System#nanoTime()}: building the
 * model and loading data are outside the figures.
 */
public final class BareLoop {

  private BareLoop() {}

  /** Trains {@code steps} steps of {@code plan} from its initial parameters. */
  public static BareRun run(TrainingPlan plan, long steps) {
    List<String> order = plan.graph().tasks().stream().map(TaskGraph::name).toList();
    SequentialTraining training = new SequentialTraining(plan, DataType.FLOAT);
    List<String> tasks = new ArrayList<>((int) steps);
    double[] losses = new double[(int) steps];
    long examples = 0;
    long start = System.nanoTime();
    for (int step = 0; step < steps; step++) {
      String task = order.get(step % order.size());
      StepResult result = training.step(task);
      losses[step] = result.loss();
      examples += result.examples();
      tasks.add(task);
    }
    Duration trainingTime = Duration.ofNanos(System.nanoTime() - start);
    Map<String, Double> evaluation = new LinkedHashMap<>();
    for (String task : order) {
      training.evaluate(task).forEach((output, value) -> evaluation.put(task + "/" + output, value));
    }
    Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
    return new BareRun(steps, examples, elapsed, trainingTime, new LossTrace(tasks, losses),
        evaluation);
  }
}
