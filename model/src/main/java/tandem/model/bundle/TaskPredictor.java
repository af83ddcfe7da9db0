package tandem.model.bundle;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.model.data.Batch;
import tandem.model.loss.Loss;
import tandem.model.spec.OutputGraph;
import tandem.model.spec.TaskGraph;
import tandem.model.train.TaskProgram;

/**
 * Runs one task of a {@link TrainedModel} forward: the shared modules and the task's own modules
 * only, through the same {@link TaskProgram} training uses, then each output's loss activation
 * (softmax, sigmoid or none). Keeps work arrays per batch size. Confined to one thread.
 */
public final class TaskPredictor {

  /** One output's scores for a batch: {@code [rows, width]}, a new array. */
  public record OutputScores(String output, Loss loss, INDArray scores) {}

  private final TaskGraph task;
  private final Map<String, INDArray> parameters;
  private final TaskProgram program;

  TaskPredictor(TaskGraph task, Map<String, INDArray> parameters) {
    this.task = task;
    this.parameters = parameters;
    this.program = new TaskProgram(task, DataType.FLOAT);
  }

  public TaskGraph task() {
    return task;
  }

  /** Every output's scores for {@code batch}, whose fields include the task's input. */
  public List<OutputScores> predict(Batch batch) {
    Map<String, INDArray> logits = program.predict(parameters, batch);
    List<OutputScores> scores = new ArrayList<>();
    for (OutputGraph output : task.outputs()) {
      scores.add(new OutputScores(output.name(), output.loss(),
          output.loss().scores(logits.get(output.name()))));
    }
    return scores;
  }
}
