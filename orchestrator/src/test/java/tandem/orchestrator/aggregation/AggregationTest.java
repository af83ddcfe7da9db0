package tandem.orchestrator.aggregation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.model.optim.OptimizerSettings;
import tandem.model.spec.AggregationSettings;

/** Each aggregation method against numbers worked out by hand. */
class AggregationTest {

  private static final float TOLERANCE = 1e-6f;
  private static final OptimizerSettings SGD = new OptimizerSettings("sgd", 0.5, 0.9, 0.999, 1e-8,
      false);

  private static Aggregation method(String name, Map<String, Double> weights) {
    return Aggregation.create(new AggregationSettings(name, weights, 8, 0.0), SGD, 1);
  }

  private static StepGradient step(String task, long step, double loss, Object... moduleVectors) {
    Map<String, INDArray> gradients = new LinkedHashMap<>();
    for (int i = 0; i < moduleVectors.length; i += 2) {
      gradients.put((String) moduleVectors[i], Nd4j.createFromArray((float[]) moduleVectors[i + 1]));
    }
    return new StepGradient(task, step, loss, gradients);
  }

  /** The update's gradient with one state per module: the tasks' contributions added. */
  private static float[] total(Map<String, Map<String, INDArray>> byTask, String module) {
    INDArray sum = null;
    for (Map<String, INDArray> gradients : byTask.values()) {
      INDArray g = gradients.get(module);
      if (g != null) {
        sum = sum == null ? g.dup() : sum.add(g);
      }
    }
    return sum.toFloatVector();
  }

  @Test
  void sumAddsEveryStep() {
    var combined = method("sum", Map.of()).combine(List.of(
        step("x", 1, 0, "trunk", new float[] {1, 2}),
        step("y", 2, 0, "trunk", new float[] {3, 4}),
        step("x", 3, 0, "trunk", new float[] {-0.5f, 0.25f})), 0);
    assertArrayEquals(new float[] {3.5f, 6.25f}, total(combined, "trunk"), TOLERANCE);
    assertArrayEquals(new float[] {0.5f, 2.25f}, combined.get("x").get("trunk").toFloatVector(),
        TOLERANCE);
  }

  @Test
  void meanDividesEachModuleByTheStepsThatUsedIt() {
    var combined = method("mean", Map.of()).combine(List.of(
        step("x", 1, 0, "a", new float[] {1, 2}),
        step("y", 2, 0, "a", new float[] {3, 4}, "b", new float[] {6, 9}),
        step("z", 3, 0, "a", new float[] {5, 6})), 0);
    assertArrayEquals(new float[] {3, 4}, total(combined, "a"), TOLERANCE);
    assertArrayEquals(new float[] {6, 9}, total(combined, "b"), TOLERANCE);
  }

  @Test
  void weightedMultipliesEachTaskByItsWeightDefaultOne() {
    var combined = method("weighted", Map.of("x", 2.0, "y", 0.5)).combine(List.of(
        step("x", 1, 0, "a", new float[] {1, 1}),
        step("y", 2, 0, "a", new float[] {4, -2}),
        step("z", 3, 0, "a", new float[] {10, 0})), 0);
    // 2 * [1, 1] + 0.5 * [4, -2] + 1 * [10, 0]
    assertArrayEquals(new float[] {14, 1}, total(combined, "a"), TOLERANCE);
  }

  @Test
  void aRoundOfOneStepAtWeightOnePassesItsGradientThroughUntouched() {
    for (String name : List.of("sum", "mean", "weighted")) {
      StepGradient only = step("x", 1, 0.7, "a", new float[] {0.1f, 0.2f});
      var combined = method(name, Map.of()).combine(List.of(only), 0);
      assertSame(only.gradients().get("a"), combined.get("x").get("a"), name);
      assertArrayEquals(new float[] {0.1f, 0.2f}, combined.get("x").get("a").toFloatVector(), 0f);
    }
  }

  @Test
  void uncertaintyWeightingScalesByExpMinusLogVarianceAndLearnsIt() {
    UncertaintyWeighting weighting = new UncertaintyWeighting(0.0, 0.5);
    // s = 0: weight exp(0) = 1; then s -= 0.5 * (1 - exp(0) * 3) = 0 + 1 = 1.
    var first = weighting.combine(List.of(step("x", 1, 3.0, "a", new float[] {2, 4})), 0);
    assertArrayEquals(new float[] {2, 4}, total(first, "a"), TOLERANCE);
    assertEquals(1.0, weighting.logVariance("x"), 1e-12);
    // s = 1: weight exp(-1); then s -= 0.5 * (1 - exp(-1) * 3).
    var second = weighting.combine(List.of(step("x", 2, 3.0, "a", new float[] {2, 4})), 1);
    float w = (float) Math.exp(-1);
    assertArrayEquals(new float[] {2 * w, 4 * w}, total(second, "a"), TOLERANCE);
    assertEquals(1 - 0.5 * (1 - Math.exp(-1) * 3), weighting.logVariance("x"), 1e-12);
    assertEquals(0.0, weighting.logVariance("y"), 0.0);
  }

  @Test
  void pcgradProjectsConflictingGradientsOffEachOther() {
    // g1 = [1, 0], g2 = [-1, 1]: dot = -1 < 0.
    // g1' = g1 - (-1 / 2) g2 = [0.5, 0.5]; g2' = g2 - (-1 / 1) g1 = [0, 1]; sum = [0.5, 1.5].
    var combined = method("pcgrad", Map.of()).combine(List.of(
        step("x", 1, 0, "a", new float[] {1, 0}),
        step("y", 2, 0, "a", new float[] {-1, 1})), 0);
    assertArrayEquals(new float[] {0.5f, 0.5f}, combined.get("x").get("a").toFloatVector(),
        TOLERANCE);
    assertArrayEquals(new float[] {0, 1}, combined.get("y").get("a").toFloatVector(), TOLERANCE);
    assertArrayEquals(new float[] {0.5f, 1.5f}, total(combined, "a"), TOLERANCE);
  }

  @Test
  void pcgradLeavesAgreeingGradientsAlone() {
    var combined = method("pcgrad", Map.of()).combine(List.of(
        step("x", 1, 0, "a", new float[] {1, 2}),
        step("y", 2, 0, "a", new float[] {3, 1})), 0);
    assertArrayEquals(new float[] {4, 3}, total(combined, "a"), TOLERANCE);
  }

  @Test
  void pcgradInAsyncModeUsesOtherTasksRecentGradientsWithinTheAgeLimit() {
    Aggregation pcgrad = Aggregation.create(new AggregationSettings("pcgrad", Map.of(), 2, 0), SGD,
        1);
    pcgrad.combine(List.of(step("y", 1, 0, "a", new float[] {-1, 1})), 0);
    // y's gradient (version 0) is 1 version old at version 1: x = [1, 0] is projected to [0.5, 0.5].
    var projected = pcgrad.combine(List.of(step("x", 2, 0, "a", new float[] {1, 0})), 1);
    assertArrayEquals(new float[] {0.5f, 0.5f}, total(projected, "a"), TOLERANCE);
    // At version 5, y's gradient is 5 versions old, beyond the limit of 2: x passes unchanged.
    var aged = pcgrad.combine(List.of(step("x", 3, 0, "a", new float[] {1, 0})), 5);
    assertArrayEquals(new float[] {1, 0}, total(aged, "a"), TOLERANCE);
  }

  @Test
  void unknownMethodThrowsNamingIt() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> method("median", Map.of()));
    assertEquals("unknown aggregation method 'median'", e.getMessage());
  }
}
