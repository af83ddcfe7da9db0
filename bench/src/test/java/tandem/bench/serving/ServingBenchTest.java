package tandem.bench.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import tandem.api.v1.DenseStack;
import tandem.api.v1.JobSpec;
import tandem.api.v1.ModuleSpec;
import tandem.api.v1.OutputSpec;
import tandem.api.v1.TaskSpec;

/** The benchmark's arithmetic: nearest-rank percentiles and the single-head spec it compares. */
class ServingBenchTest {

  @Test
  void nearestRankPercentiles() {
    List<Long> values = List.of(5L, 1L, 4L, 2L, 3L, 6L, 7L, 8L, 9L, 10L);
    assertEquals(5, ServingBench.percentile(values, 0.50));
    assertEquals(10, ServingBench.percentile(values, 0.99));
    assertEquals(1, ServingBench.percentile(values, 0.01));
  }

  @Test
  void singleHeadKeepsTheTrunkAndOneTasksHead() {
    JobSpec.Builder many = JobSpec.newBuilder().setName("m").addModules(module("trunk"));
    for (int k = 0; k < 3; k++) {
      many.addModules(module("head" + k)).addTasks(TaskSpec.newBuilder().setName("t" + k)
          .addPath("trunk").addOutputs(OutputSpec.newBuilder().addModules("head" + k)));
    }
    JobSpec one = ServingBench.singleHead(many.build(), many.getTasks(1));
    assertEquals(List.of("trunk", "head1"), one.getModulesList().stream()
        .map(ModuleSpec::getName).toList());
    assertEquals(List.of("t1"), one.getTasksList().stream().map(TaskSpec::getName).toList());
  }

  private static ModuleSpec module(String name) {
    return ModuleSpec.newBuilder().setName(name).setDense(DenseStack.getDefaultInstance()).build();
  }
}
