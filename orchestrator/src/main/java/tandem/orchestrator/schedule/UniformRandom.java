package tandem.orchestrator.schedule;

import java.util.List;
import java.util.SplittableRandom;

/** Each step's task drawn uniformly from a seeded stream. Confined to the coordinator. */
public final class UniformRandom implements Schedule {

  private final List<String> tasks;
  private final SplittableRandom random;
  private String drawn;

  public UniformRandom(List<String> tasks, long seed) {
    if (tasks.isEmpty()) {
      throw new IllegalArgumentException("expected at least one task, found none");
    }
    this.tasks = List.copyOf(tasks);
    this.random = new SplittableRandom(seed);
    this.drawn = draw();
  }

  @Override
  public String peek() {
    return drawn;
  }

  @Override
  public void advance() {
    drawn = draw();
  }

  private String draw() {
    return tasks.get(random.nextInt(tasks.size()));
  }
}
