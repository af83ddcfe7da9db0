package tandem.model.spec;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tandem.model.module.Module;

/**
 * A job's modules and tasks, resolved and checked: which modules exist, which task runs which, and
 * from that which modules are shared (used by two or more tasks) and which are heads (used by
 * exactly one). Immutable.
 */
public final class ModelGraph {

  private final Map<String, Module> modules;
  private final List<TaskGraph> tasks;
  /** How many tasks use each module (a 1,000-task job asks for every task's heads). */
  private final Map<String, Integer> users;
  private final Map<String, TaskGraph> byName = new java.util.HashMap<>();

  public ModelGraph(Map<String, Module> modules, List<TaskGraph> tasks) {
    this.modules = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(modules));
    this.tasks = List.copyOf(tasks);
    Map<String, Integer> counts = new java.util.HashMap<>();
    for (TaskGraph task : this.tasks) {
      for (String module : task.moduleNames()) {
        counts.merge(module, 1, Integer::sum);
      }
    }
    this.users = Map.copyOf(counts);
    this.tasks.forEach(task -> byName.putIfAbsent(task.name(), task));
  }

  public Map<String, Module> modules() {
    return modules;
  }

  public List<TaskGraph> tasks() {
    return tasks;
  }

  /** Modules used by two or more tasks, in spec order. */
  public Set<String> sharedModules() {
    Set<String> shared = new LinkedHashSet<>();
    for (String module : modules.keySet()) {
      if (users.getOrDefault(module, 0) >= 2) {
        shared.add(module);
      }
    }
    return shared;
  }

  /** Modules used by {@code task} alone, in order of use. */
  public Set<String> heads(String task) {
    Set<String> heads = new LinkedHashSet<>();
    for (String module : task(task).moduleNames()) {
      if (users.get(module) == 1) {
        heads.add(module);
      }
    }
    return heads;
  }

  /** The named task; fails if there is none. */
  public TaskGraph task(String name) {
    TaskGraph task = byName.get(name);
    if (task != null) {
      return task;
    }
    throw new IllegalArgumentException("no task '" + name + "'");
  }
}
