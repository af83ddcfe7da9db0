package tandem.orchestrator.schedule;

import java.util.List;

/** Strict alternation over the tasks in spec order. Confined to the coordinator. */
public final class RoundRobin implements Schedule {

  private final List<String> tasks;
  private int next;

  public RoundRobin(List<String> tasks) {
    if (tasks.isEmpty()) {
      throw new IllegalArgumentException("expected at least one task, found none");
    }
    this.tasks = List.copyOf(tasks);
  }

  @Override
  public String peek() {
    return tasks.get(next);
  }

  @Override
  public void advance() {
    next = (next + 1) % tasks.size();
  }
}
