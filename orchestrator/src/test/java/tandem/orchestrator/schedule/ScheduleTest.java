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
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import tandem.model.spec.ScheduleSettings;

/** Each schedule's task frequencies against its definition, over 10,000 draws. */
class ScheduleTest {

  private static final List<String> TASKS = List.of("a", "b", "c");
  private static final Map<String, Integer> SIZES = Map.of("a", 100, "b", 400, "c", 1500);
  private static final int DRAWS = 10_000;

  private static Schedule schedule(String policy, Map<String, Double> weights, double temperature,
      long seed) {
    return Schedule.create(new ScheduleSettings(policy, weights, temperature), TASKS, SIZES,
        new SplittableRandom(seed));
  }

  private static Schedule schedule(String policy, long seed) {
    return schedule(policy, Map.of(), 1.0, seed);
  }

  @Test
  void roundRobinAlternatesStrictlyInSpecOrder() {
    Schedule schedule = schedule("round_robin", 1);
    assertInstanceOf(RoundRobin.class, schedule);
    assertEquals(List.of("a", "b", "c", "a", "b", "c", "a"), draw(schedule, 7));
  }

  @Test
  void peekIsStableUntilAdvance() {
    for (String policy : List.of("round_robin", "random", "proportional", "temperature")) {
      Schedule schedule = schedule(policy, 5);
      for (int i = 0; i < 20; i++) {
        String first = schedule.peek();
        assertEquals(first, schedule.peek(), policy);
        schedule.advance();
      }
    }
  }

  @Test
  void sameSeedSameSequence() {
    List<String> first = draw(schedule("random", 99), 200);
    assertEquals(first, draw(schedule("random", 99), 200));
    assertNotEquals(first, draw(schedule("random", 100), 200));
  }

  @Test
  void randomIsUniform() {
    assertFrequencies(schedule("random", 2024), Map.of("a", 1.0, "b", 1.0, "c", 1.0));
  }

  @Test
  void proportionalFollowsDataSetSizes() {
    assertFrequencies(schedule("proportional", 7), Map.of("a", 100.0, "b", 400.0, "c", 1500.0));
  }

  @Test
  void temperatureRaisesSizesToOneOverT() {
    // T = 2: weights sqrt(n) = 10, 20, 38.73.
    assertFrequencies(schedule("temperature", Map.of(), 2.0, 8),
        Map.of("a", 10.0, "b", 20.0, "c", Math.sqrt(1500)));
  }

  @Test
  void weightedFollowsExplicitWeightsAndSkipsUnweightedTasks() {
    Schedule schedule = schedule("weighted", Map.of("a", 3.0, "c", 1.0), 1.0, 9);
    List<String> drawn = draw(schedule, DRAWS);
    assertTrue(drawn.stream().noneMatch("b"::equals));
    assertFrequencies(schedule("weighted", Map.of("a", 3.0, "c", 1.0), 1.0, 9),
        Map.of("a", 3.0, "b", 0.0, "c", 1.0));
  }

  @Test
  void badWeightsAndPoliciesThrow() {
    assertThrows(IllegalArgumentException.class, () -> schedule("fifo", 1));
    assertThrows(IllegalArgumentException.class,
        () -> schedule("weighted", Map.of("a", 0.0), 1.0, 1));
    assertThrows(IllegalArgumentException.class, () -> new RoundRobin(List.of()));
  }

  /**
   * Each task's share of 10,000 draws is within 4 standard deviations of its probability
   * (sqrt(p(1-p)/n) <= 0.005, so at most 0.02 off): fails by chance about once in 15,000 runs.
   */
  private static void assertFrequencies(Schedule schedule, Map<String, Double> weights) {
    double total = weights.values().stream().mapToDouble(Double::doubleValue).sum();
    Map<String, Integer> counts = new HashMap<>();
    draw(schedule, DRAWS).forEach(task -> counts.merge(task, 1, Integer::sum));
    weights.forEach((task, weight) -> {
      double p = weight / total;
      double tolerance = 4 * Math.sqrt(p * (1 - p) / DRAWS) + 1e-9;
      assertEquals(p, counts.getOrDefault(task, 0) / (double) DRAWS, tolerance, task);
    });
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
