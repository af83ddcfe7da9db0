package tandem.bench.twohead;

import java.nio.file.Path;
import java.util.stream.IntStream;
import tandem.api.v1.ConsistencySpec;
import tandem.api.v1.CsvData;
import tandem.api.v1.CsvField;
import tandem.api.v1.DataSpec;
import tandem.api.v1.DenseLayer;
import tandem.api.v1.DenseStack;
import tandem.api.v1.JobSpec;
import tandem.api.v1.ModuleSpec;
import tandem.api.v1.OptimizerSpec;
import tandem.api.v1.OutputSpec;
import tandem.api.v1.ScheduleSpec;
import tandem.api.v1.StopCondition;
import tandem.api.v1.TaskSpec;

/**
 * The two-head job of the "walking system" benchmark: a shared trunk (dense 64→256 relu) and two
 * 10-class softmax heads ({@code head_a}, {@code head_b}, dense 256→10), one task per head on the
 * same {@link TwoHeadData} file, batch 64, Adam (lr 0.001), round robin, sync, one step in flight.
 * Stateless.
 */
public final class TwoHeadJob {

  public static final int HIDDEN = 256;
  public static final int BATCH_SIZE = 64;
  public static final double LEARNING_RATE = 0.001;

  private TwoHeadJob() {}

  /** The spec training {@code steps} steps in all on the CSV file {@code data}. */
  public static JobSpec spec(Path data, long steps, long seed) {
    DataSpec csv = DataSpec.newBuilder().setCsv(CsvData.newBuilder()
        .setPath(data.toAbsolutePath().toString())
        .addFields(CsvField.newBuilder().setName("x").setType("float")
            .addAllColumns(IntStream.range(0, TwoHeadData.FEATURES).boxed().toList()))
        .addFields(classField("label_a", TwoHeadData.LABEL_A_COLUMN))
        .addFields(classField("label_b", TwoHeadData.LABEL_B_COLUMN)))
        .build();
    return JobSpec.newBuilder()
        .setName("two-head")
        .addModules(dense("trunk", TwoHeadData.FEATURES, HIDDEN, "relu"))
        .addModules(dense("head_a", HIDDEN, TwoHeadData.CLASSES, "identity"))
        .addModules(dense("head_b", HIDDEN, TwoHeadData.CLASSES, "identity"))
        .addTasks(task("task_a", csv, "head_a", "label_a"))
        .addTasks(task("task_b", csv, "head_b", "label_b"))
        .setSchedule(ScheduleSpec.newBuilder().setPolicy("round_robin"))
        .setConsistency(ConsistencySpec.newBuilder().setMode("sync").setStepsInFlight(1))
        .setOptimizer(OptimizerSpec.newBuilder().setName("adam").setLearningRate(LEARNING_RATE))
        .setStop(StopCondition.newBuilder().setMaxSteps(steps))
        .setSeed(seed)
        .build();
  }

  private static CsvField classField(String name, int column) {
    return CsvField.newBuilder().setName(name).setType("class").addColumns(column)
        .setClasses(TwoHeadData.CLASSES).build();
  }

  private static ModuleSpec dense(String name, int inputSize, int size, String activation) {
    return ModuleSpec.newBuilder().setName(name).setDense(DenseStack.newBuilder()
        .setInputSize(inputSize)
        .addLayers(DenseLayer.newBuilder().setSize(size).setActivation(activation))).build();
  }

  private static TaskSpec task(String name, DataSpec data, String head, String label) {
    return TaskSpec.newBuilder()
        .setName(name)
        .setData(data)
        .setInput("x")
        .addPath("trunk")
        .addOutputs(OutputSpec.newBuilder().addModules(head).setLoss("softmax_cross_entropy")
            .setLabel(label))
        .setBatchSize(BATCH_SIZE)
        .build();
  }
}
