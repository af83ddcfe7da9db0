package tandem.orchestrator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import tandem.api.v1.CheckpointWritten;
import tandem.api.v1.StepCompleted;
import tandem.api.v1.TrainingEvent;

/**
 * A window of the job page's live summaries: smoothing carried on across windows gives the
 * step-by-step average, spikes are kept, the worker timeline adds up. The stream of them is in
 * {@link LiveEventsTest}.
 */
class LiveWindowTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void smoothingCarriedOnAcrossWindowsIsTheStepByStepAverage() throws Exception {
    double halfLife = 37;
    Random random = new Random(3);
    Map<String, StepWeightedEma> reference = new HashMap<>();
    Map<String, double[]> page = new HashMap<>(); // task -> {s0, v0}
    LiveWindow window = new LiveWindow(halfLife);
    int checked = 0;
    for (int step = 1; step <= 3000; step++) {
      String task = "t" + random.nextInt(3);
      double loss = Math.exp(-step / 800.0) + 0.3 * random.nextDouble();
      double expected = reference.computeIfAbsent(task, t -> new StepWeightedEma(halfLife))
          .add(step, loss);
      window.add(step(step, task, loss, "w0", 0.001, 0.0005, 1_000_000 + step));
      boolean last = step == 3000;
      if (last || random.nextInt(50) == 0) {
        JsonNode json = JSON.readTree(window.json());
        for (var entry : (Iterable<Map.Entry<String, JsonNode>>) json.get("tasks")::fields) {
          double[] state = page.get(entry.getKey());
          JsonNode points = entry.getValue().get("points");
          JsonNode latest = points.get(points.size() - 1);
          double fresh = latest.get(5).asDouble();
          double smoothed = state == null ? fresh : fresh + Math.pow(2,
              -(latest.get(1).asDouble() - state[0]) / halfLife)
              * (state[1] - entry.getValue().get("y1").asDouble());
          page.put(entry.getKey(), new double[] {latest.get(1).asDouble(), smoothed});
          checked++;
        }
        for (var held : page.entrySet()) {
          if (json.get("tasks").has(held.getKey())) {
            // The window sends losses and averages to a float's precision.
            assertEquals(reference.get(held.getKey()).value(), held.getValue()[1], 1e-6,
                held.getKey() + " at step " + step);
          }
        }
        window = new LiveWindow(halfLife);
      }
    }
    assertTrue(checked > 100, "windows checked: " + checked);
  }

  @Test
  void aWindowKeepsItsLowestHighestAndLastLossInStepOrder() throws Exception {
    LiveWindow window = new LiveWindow(10);
    double[] losses = {0.5, 0.4, 9.0, 0.45, 0.1, 0.3};
    for (int i = 0; i < losses.length; i++) {
      window.add(step(i + 1, "a", losses[i], "w0", 0.001, 0, 1000 + i));
    }
    window.add(TrainingEvent.newBuilder().setSequence(7).setTime(Timestamps.fromMillis(1007))
        .setCheckpointWritten(CheckpointWritten.newBuilder().setStep(6)).build());
    JsonNode json = JSON.readTree(window.json());
    JsonNode task = json.get("tasks").get("a");
    assertEquals(6, task.get("n").asInt());
    assertEquals(1, task.get("s1").asLong());
    assertEquals(0.5, task.get("y1").asDouble());
    List<Double> kept = new ArrayList<>();
    task.get("points").forEach(p -> kept.add(p.get(3).asDouble()));
    assertEquals(List.of(9.0, 0.1, 0.3), kept, "the spike, the lowest and the last, by step");
    // Times: the window's is its last event's; a point's, the milliseconds before it.
    assertEquals(1007, json.get("time").asLong());
    List<Long> before = new ArrayList<>();
    task.get("points").forEach(p -> before.add(p.get(2).asLong()));
    assertEquals(List.of(5L, 3L, 2L), before, "steps at 1002, 1004 and 1005 ms");
    assertEquals(1, json.get("first").asLong());
    assertEquals(7, json.get("last").asLong());
    assertEquals(7, json.get("events").asInt());
    assertEquals("checkpointWritten", json.get("others").get(0).get("kind").asText());
  }

  @Test
  void theTimelineSpreadsEachStepsComputeAndQueueOverItsSlots() throws Exception {
    LiveWindow window = new LiveWindow(10);
    // Computed 30 ms up to 10,050 (10,020 to 10,050), queued 15 ms before (10,005 to 10,020).
    window.add(step(1, "a", 1, "w0", 0.030, 0.015, 10_050));
    window.add(step(2, "b", 1, "w1", 0.002, 0, 10_051));
    JsonNode workers = JSON.readTree(window.json()).get("workers");
    Map<Long, double[]> slots = new HashMap<>();
    workers.get("w0").forEach(s -> slots.put(s.get(0).asLong(),
        new double[] {s.get(1).asDouble(), s.get(2).asDouble()}));
    assertEquals(Map.of(10_000L, 15.0, 10_020L, 0.0, 10_040L, 0.0).keySet(), slots.keySet());
    assertEquals(0, slots.get(10_000L)[0], 1e-9);
    assertEquals(15, slots.get(10_000L)[1], 1e-9);
    assertEquals(20, slots.get(10_020L)[0], 1e-9);
    assertEquals(10, slots.get(10_040L)[0], 1e-9);
    assertEquals("a", workers.get("w0").get(1).get(3).asText());
    assertEquals(1, workers.get("w1").size());
  }

  static TrainingEvent step(long step, String task, double loss, String worker,
      double computeSeconds, double queueSeconds, long millis) {
    return TrainingEvent.newBuilder().setSequence(step).setTime(Timestamps.fromMillis(millis))
        .setStepCompleted(StepCompleted.newBuilder().setStep(step).setTask(task).setLoss(loss)
            .setExamples(4).setWorker(worker)
            .setComputeTime(Durations.fromNanos((long) (computeSeconds * 1e9)))
            .setQueueTime(Durations.fromNanos((long) (queueSeconds * 1e9))))
        .build();
  }
}
