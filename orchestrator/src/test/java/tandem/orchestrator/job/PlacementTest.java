package tandem.orchestrator.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import tandem.model.module.DenseStack;
import tandem.model.module.Module;
import tandem.model.spec.ModelGraph;
import tandem.model.spec.TaskGraph;

/**
 * Placement on hand-built graphs: dense modules of {@code in × 100 + 100} parameters, so a head
 * of input size 9 has 1000, of 5 has 600, of 4 has 500.
 */
class PlacementTest {

  @Test
  void balancesHeadParameters() {
    ModelGraph graph = graph(List.of(
        new Task("small", List.of("trunk", "h500")),
        new Task("big", List.of("trunk", "h1000")),
        new Task("medium", List.of("trunk", "h600"))),
        Map.of("trunk", 3, "h1000", 9, "h600", 5, "h500", 4));
    assertEquals(1000, graph.modules().get("h1000").parameterCount());
    assertEquals(600, graph.modules().get("h600").parameterCount());
    assertEquals(500, graph.modules().get("h500").parameterCount());

    Map<String, Integer> placement = Placement.place(graph, 2);
    assertEquals(List.of("small", "big", "medium"), List.copyOf(placement.keySet()),
        "in the graph's task order");
    assertEquals(Map.of("big", 0, "medium", 1, "small", 1), placement);
  }

  @Test
  void tasksOfSharedModulesOnlyAreSpreadByTaskCount() {
    // Every module is used by two tasks: no heads, all loads 0.
    ModelGraph graph = graph(List.of(
        new Task("t1", List.of("m1", "m2")),
        new Task("t2", List.of("m1", "m2")),
        new Task("t3", List.of("m2", "m3")),
        new Task("t4", List.of("m1", "m3"))),
        Map.of("m1", 2, "m2", 2, "m3", 2));
    Map<String, Integer> onTwo = Placement.place(graph, 2);
    assertEquals(Map.of("t1", 0, "t2", 1, "t3", 0, "t4", 1), onTwo);
    Map<String, Integer> onThree = Placement.place(graph, 3);
    assertEquals(Map.of("t1", 0, "t2", 1, "t3", 2, "t4", 0), onThree);
  }

  @Test
  void oneWorkerTakesEveryTask() {
    ModelGraph graph = graph(List.of(
        new Task("a", List.of("trunk", "h1000")),
        new Task("b", List.of("trunk", "h600")),
        new Task("c", List.of("trunk"))),
        Map.of("trunk", 3, "h1000", 9, "h600", 5));
    assertEquals(Map.of("a", 0, "b", 0, "c", 0), Placement.place(graph, 1));
  }

  @Test
  void moreWorkersThanTasksLeavesSomeIdle() {
    ModelGraph graph = graph(List.of(
        new Task("a", List.of("trunk", "h600")),
        new Task("b", List.of("trunk", "h1000"))),
        Map.of("trunk", 3, "h1000", 9, "h600", 5));
    assertEquals(Map.of("b", 0, "a", 1), Placement.place(graph, 4));
  }

  @Test
  void noWorkersThrows() {
    ModelGraph graph = graph(List.of(new Task("a", List.of("m"))), Map.of("m", 1));
    assertThrows(IllegalArgumentException.class, () -> Placement.place(graph, 0));
  }

  private record Task(String name, List<String> modules) {}

  /** Tasks whose path is the given modules; each module a one-layer dense of the given input. */
  private static ModelGraph graph(List<Task> tasks,
      Map<String, Integer> inputSizes) {
    Map<String, Module> modules = new LinkedHashMap<>();
    inputSizes.keySet().stream().sorted().forEach(name -> modules.put(name, new DenseStack(name,
        inputSizes.get(name), List.of(new DenseStack.Layer(100, new ActivationIdentity())))));
    List<TaskGraph> graphs = new ArrayList<>();
    for (Task task : tasks) {
      graphs.add(new TaskGraph(task.name(), "x",
          task.modules().stream().map(modules::get).toList(), List.of(), 1));
    }
    return new ModelGraph(modules, graphs);
  }
}
