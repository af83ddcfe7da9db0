package tandem.orchestrator.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class GradientAggregationTest {

  private static final float TOLERANCE = 1e-6f;

  @Test
  void meanDividesBySteps() {
    Map<String, INDArray> combined = GradientAggregation.MEAN.combine(List.of(
        Map.of("a", vector(1, 2, 3)),
        Map.of("a", vector(3, 4, 5))));
    assertArrayEquals(new float[] {2, 3, 4}, combined.get("a").toFloatVector(), TOLERANCE);
  }

  @Test
  void sumAddsSteps() {
    Map<String, INDArray> combined = GradientAggregation.SUM.combine(List.of(
        Map.of("a", vector(1, 2, 3)),
        Map.of("a", vector(3, 4, 5)),
        Map.of("a", vector(-0.5f, 0, 0.25f))));
    assertArrayEquals(new float[] {3.5f, 6, 8.25f}, combined.get("a").toFloatVector(), TOLERANCE);
  }

  @Test
  void meanDividesEachModuleByTheStepsThatUsedIt() {
    Map<String, INDArray> second = new LinkedHashMap<>();
    second.put("a", vector(3, 4));
    second.put("b", vector(6, 9));
    Map<String, INDArray> combined = GradientAggregation.MEAN.combine(List.of(
        Map.of("a", vector(1, 2)),
        second,
        Map.of("a", vector(5, 6), "c", vector(-1, 1))));
    assertEquals(3, combined.size());
    assertArrayEquals(new float[] {3, 4}, combined.get("a").toFloatVector(), TOLERANCE);
    assertArrayEquals(new float[] {6, 9}, combined.get("b").toFloatVector(), TOLERANCE,
        "b was used by 1 of 3 steps: not divided");
    assertArrayEquals(new float[] {-1, 1}, combined.get("c").toFloatVector(), TOLERANCE);
  }

  @Test
  void sumOfOneStepPerModuleIsThatGradient() {
    Map<String, INDArray> combined = GradientAggregation.SUM.combine(List.of(
        Map.of("a", vector(1, 2)), Map.of("b", vector(7))));
    assertArrayEquals(new float[] {1, 2}, combined.get("a").toFloatVector(), 0f);
    assertArrayEquals(new float[] {7}, combined.get("b").toFloatVector(), 0f);
  }

  @Test
  void aRoundOfOneStepPassesItsGradientThroughUntouched() {
    INDArray gradient = vector(0.1f, 0.2f);
    for (GradientAggregation aggregation : GradientAggregation.values()) {
      Map<String, INDArray> combined = aggregation.combine(List.of(Map.of("a", gradient)));
      assertSame(gradient, combined.get("a"), aggregation.name());
      assertArrayEquals(new float[] {0.1f, 0.2f}, gradient.toFloatVector(), 0f);
    }
  }

  @Test
  void gradientsAfterTheFirstAreOnlyRead() {
    INDArray second = vector(3, 4);
    GradientAggregation.MEAN.combine(List.of(Map.of("a", vector(1, 2)), Map.of("a", second)));
    assertArrayEquals(new float[] {3, 4}, second.toFloatVector(), 0f);
  }

  @Test
  void namedResolvesThePlansMethodAndRejectsOthers() {
    assertEquals(GradientAggregation.SUM, GradientAggregation.named("sum"));
    assertEquals(GradientAggregation.MEAN, GradientAggregation.named("mean"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> GradientAggregation.named("median"));
    assertTrue(e.getMessage().contains("median"), e.getMessage());
  }

  private static INDArray vector(float... values) {
    return Nd4j.createFromArray(values);
  }
}
