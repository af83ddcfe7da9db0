package tandem.bench.async;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import tandem.bench.BenchMain;

/**
 * A smoke run of {@code bench/run.sh async}: two settings of how many updates go together, side
 * by side on servers of their own, each with two numbers of steps in flight, with their actor
 * runs and the loops sharing the trunk.
 */
class AsyncScalingBenchTest {

  @Test
  void comparesEachSettingOfUpdatesTogetherOnItsOwnServerWithEachNumberInFlight() {
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream out = System.out;
    int exit;
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      exit = BenchMain.commandLine().execute("async", "--steps", "40", "--repeats", "1",
          "--rows", "512", "--max-warmup-turns", "1", "--settle-runs", "0",
          "--updates-together", "1,3", "--in-flight", "0,4", "--events", "after", "--json");
    } finally {
      System.setOut(out);
    }
    assertEquals(0, exit);
    JsonObject report = JsonParser.parseString(captured.toString(StandardCharsets.UTF_8))
        .getAsJsonObject();
    JsonArray variants = report.getAsJsonArray("variants");
    assertEquals(4, variants.size(), "every setting with every number in flight");
    for (int i = 0; i < 4; i++) {
      JsonObject variant = variants.get(i).getAsJsonObject();
      assertEquals(i < 2 ? 1 : 3, variant.get("updatesTogether").getAsInt());
      assertEquals(i % 2 == 0 ? 0 : 4, variant.get("stepsInFlightPerWorker").getAsInt());
      assertTrue(variant.get("oneWorkerExamplesPerSecond").getAsDouble() > 0, variant.toString());
      assertTrue(variant.get("twoWorkersExamplesPerSecond").getAsDouble() > 0, variant.toString());
      assertTrue(variant.get("sharedTrunkTwoThreadSpeedup").getAsDouble() > 0,
          variant.toString());
      assertTrue(variant.get("versionedTrunkTwoThreadSpeedup").getAsDouble() > 0,
          variant.toString());
      assertTrue(Double.isFinite(variant.get("asyncFinalLoss").getAsDouble()), variant.toString());
      assertEquals(1, variant.getAsJsonArray("repetitions").size());
    }
  }

  @Test
  void aSettingUnderOneIsRefusedBeforeAnythingRuns() {
    CommandLine command = BenchMain.commandLine();
    java.io.StringWriter err = new java.io.StringWriter();
    command.setErr(new java.io.PrintWriter(err));
    assertNotEquals(0, command.execute("async", "--updates-together", "2,0"));
    assertTrue(err.toString().contains("--updates-together"), err.toString());
  }
}
