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
public record ModelGraph(Map<String, Module> modules, List<TaskGraph> tasks) {

  public ModelGraph {
    modules = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(modules));
    tasks = List.copyOf(tasks);
  }

  /** Modules used by two or more tasks, in spec order. */
  public Set<String> sharedModules() {
    Set<String> shared = new LinkedHashSet<>();
    for (String module : modules.keySet()) {
      if (users(module) >= 2) {
        shared.add(module);
      }
    }
    return shared;
  }

  /** Modules used by {@code task} alone, in order of use. */
  public Set<String> heads(String task) {
    Set<String> heads = new LinkedHashSet<>();
    for (String module : task(task).moduleNames()) {
      if (users(module) == 1) {
        heads.add(module);
      }
    }
    return heads;
  }

  /** The named task; fails if there is none. */
  public TaskGraph task(String name) {
    for (TaskGraph task : tasks) {
      if (task.name().equals(name)) {
        return task;
      }
    }
    throw new IllegalArgumentException("no task '" + name + "'");
  }

  private int users(String module) {
    int users = 0;
    for (TaskGraph task : tasks) {
      if (task.moduleNames().contains(module)) {
        users++;
      }
    }
    return users;
  }
}
