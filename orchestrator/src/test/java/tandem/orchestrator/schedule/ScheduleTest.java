package tandem.orchestrator.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ScheduleTest {

  private static final List<String> TASKS = List.of("a", "b", "c");

  @Test
  void roundRobinAlternatesStrictlyInSpecOrder() {
    Schedule schedule = Schedule.create("round_robin", TASKS, 1);
    assertInstanceOf(RoundRobin.class, schedule);
    assertEquals(List.of("a", "b", "c", "a", "b", "c", "a"), draw(schedule, 7));
  }

  @Test
  void peekIsStableUntilAdvance() {
    for (String policy : List.of("round_robin", "random")) {
      Schedule schedule = Schedule.create(policy, TASKS, 5);
      for (int i = 0; i < 20; i++) {
        String first = schedule.peek();
        assertEquals(first, schedule.peek(), policy);
        assertEquals(first, schedule.peek(), policy);
        schedule.advance();
      }
    }
  }

  @Test
  void randomWithTheSameSeedGivesTheSameSequence() {
    List<String> first = draw(Schedule.create("random", TASKS, 99), 200);
    assertEquals(first, draw(Schedule.create("random", TASKS, 99), 200));
    assertNotEquals(first, draw(Schedule.create("random", TASKS, 100), 200));
  }

  @Test
  void randomIsUniformOverTheTasks() {
    Schedule schedule = Schedule.create("random", TASKS, 2024);
    assertInstanceOf(UniformRandom.class, schedule);
    int draws = 10_000;
    Map<String, Integer> counts = new HashMap<>();
    draw(schedule, draws).forEach(task -> counts.merge(task, 1, Integer::sum));
    assertEquals(3, counts.size());
    counts.forEach((task, count) -> assertEquals(1.0 / 3, count / (double) draws, 0.03, task));
  }

  @Test
  void unknownPolicyThrowsNamingIt() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Schedule.create("fifo", TASKS, 1));
    assertTrue(e.getMessage().contains("fifo"), e.getMessage());
  }

  @Test
  void noTasksThrows() {
    assertThrows(IllegalArgumentException.class, () -> new RoundRobin(List.of()));
    assertThrows(IllegalArgumentException.class, () -> new UniformRandom(List.of(), 1));
  }

  private static List<String> draw(Schedule schedule, int n) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(schedule.peek());
      schedule.advance();
    }
    return out;
  }
}
