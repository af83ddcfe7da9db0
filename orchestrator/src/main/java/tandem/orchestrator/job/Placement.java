package tandem.orchestrator.job;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tandem.model.module.Module;
import tandem.model.spec.ModelGraph;
import tandem.model.spec.TaskGraph;

/**
 * Spreads a job's tasks over workers so that the head parameters (the memory and most of the
 * per-worker compute) are balanced: tasks in decreasing order of head size, each to the worker
 * with the least so far (ties to the lower index). Stateless.
 */
public final class Placement {

  private Placement() {}

  /** Task name to worker index in {@code [0, workers)}, in the graph's task order. */
  public static Map<String, Integer> place(ModelGraph graph, int workers) {
    if (workers <= 0) {
      throw new IllegalArgumentException("expected at least one worker, found " + workers);
    }
    List<TaskGraph> bySize = new ArrayList<>(graph.tasks());
    bySize.sort((a, b) -> Long.compare(headSize(graph, b), headSize(graph, a)));
    long[] load = new long[workers];
    int[] tasksOn = new int[workers];
    Map<String, Integer> chosen = new LinkedHashMap<>();
    for (TaskGraph task : bySize) {
      int best = 0;
      for (int w = 1; w < workers; w++) {
        if (load[w] < load[best] || load[w] == load[best] && tasksOn[w] < tasksOn[best]) {
          best = w;
        }
      }
      load[best] += headSize(graph, task);
      tasksOn[best]++;
      chosen.put(task.name(), best);
    }
    Map<String, Integer> inTaskOrder = new LinkedHashMap<>();
    graph.tasks().forEach(task -> inTaskOrder.put(task.name(), chosen.get(task.name())));
    return inTaskOrder;
  }

  /**
   * Task name to worker index for {@code tasks} moved off a lost worker: largest heads first,
   * each to the worker with the least head parameters so far ({@code load}, updated in place).
   */
  public static Map<String, Integer> reassign(ModelGraph graph, List<String> tasks, long[] load) {
    if (load.length == 0) {
      throw new IllegalArgumentException("expected at least one worker, found none");
    }
    List<TaskGraph> bySize = new ArrayList<>(tasks.stream().map(graph::task).toList());
    bySize.sort((a, b) -> Long.compare(headSize(graph, b), headSize(graph, a)));
    Map<String, Integer> chosen = new LinkedHashMap<>();
    for (TaskGraph task : bySize) {
      int best = 0;
      for (int w = 1; w < load.length; w++) {
        if (load[w] < load[best]) {
          best = w;
        }
      }
      load[best] += headSize(graph, task);
      chosen.put(task.name(), best);
    }
    return chosen;
  }

  /** Parameters of a task's heads. */
  public static long headSize(ModelGraph graph, String task) {
    return headSize(graph, graph.task(task));
  }

  private static long headSize(ModelGraph graph, TaskGraph task) {
    long size = 0;
    for (String head : graph.heads(task.name())) {
      Module module = graph.modules().get(head);
      size += module.parameterCount();
    }
    return size;
  }
}
