package tandem.bench.twohead;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import tandem.bench.BenchMain;

/** The two-head benchmark end to end with tiny settings: the report's shape, not its timings. */
class TwoHeadBenchTest {

  @Test
  void reportsBothPathsAndTheirRatioAsJson() {
    StringWriter out = new StringWriter();
    CommandLine command = BenchMain.commandLine();
    command.setOut(new PrintWriter(out));
    command.setErr(new PrintWriter(new StringWriter()));

    int exitCode = command.execute("two-head", "--steps", "40", "--repeats", "1",
        "--warmup-steps", "4", "--rows", "512", "--json");

    assertEquals(0, exitCode, out.toString());
    JsonObject report = JsonParser.parseString(out.toString()).getAsJsonObject();
    assertTrue(report.getAsJsonObject("actor").get("examplesPerSecond").getAsDouble() > 0);
    assertTrue(report.getAsJsonObject("bare").get("examplesPerSecond").getAsDouble() > 0);
    assertTrue(report.get("ratio").getAsDouble() > 0);
    assertEquals(1, report.getAsJsonArray("repetitions").size());
    JsonObject repetition = report.getAsJsonArray("repetitions").get(0).getAsJsonObject();
    assertEquals(40, repetition.getAsJsonObject("actor").get("steps").getAsLong());
    assertEquals(40 * TwoHeadJob.BATCH_SIZE,
        repetition.getAsJsonObject("bare").get("examples").getAsLong());
    assertTrue(report.getAsJsonObject("machine").get("cores").getAsInt() > 0);
    // Sync, one worker, one step in flight: the actor path must be the sequential loop bit for bit.
    assertTrue(report.getAsJsonObject("finalLoss").get("lossesIdentical").getAsBoolean());
    // Both paths end with the job's final evaluation, and it comes out the same.
    assertTrue(report.getAsJsonObject("finalLoss").get("evaluationsIdentical").getAsBoolean());
    assertEquals(2, repetition.getAsJsonObject("bare").getAsJsonObject("evaluation").size());
    assertTrue(report.get("trainingRatio").getAsDouble() > 0);
  }

  @Test
  void printsATableByDefault() {
    StringWriter out = new StringWriter();
    CommandLine command = BenchMain.commandLine();
    command.setOut(new PrintWriter(out));
    command.setErr(new PrintWriter(new StringWriter()));

    int exitCode = command.execute("two-head", "--steps", "10", "--repeats", "1",
        "--warmup-steps", "2", "--rows", "128", "--events", "after");

    assertEquals(0, exitCode, out.toString());
    assertTrue(out.toString().contains("median"), out.toString());
    assertTrue(out.toString().contains("ratio = actor / bare"), out.toString());
  }
}
