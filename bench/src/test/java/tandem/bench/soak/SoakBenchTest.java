package tandem.bench.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import tandem.bench.BenchMain;

/**
 * {@code bench/run.sh soak} in smoke mode: a server JVM, a nice'd subscriber JVM, two short jobs
 * with four subscribers (one slow), two rounds (the subscribers' connections kept from the first
 * to the second); every check passes and every figure is there. Not timed.
 */
class SoakBenchTest {

  @Test
  void aSmokeRunPassesItsChecksAndReportsEveryFigure() {
    StringWriter out = new StringWriter();
    CommandLine command = BenchMain.commandLine();
    command.setOut(new PrintWriter(out));
    int exitCode = command.execute("soak", "--rounds", "2", "--jobs", "2", "--subscribers", "4",
        "--slow", "1", "--slow-delay", "200us", "--max-steps", "40", "--warmup-rounds", "0",
        "--server-heap", "512m", "--json");
    assertEquals(0, exitCode, out.toString());
    JsonObject report = JsonParser.parseString(out.toString()).getAsJsonObject();
    assertTrue(report.get("ok").getAsBoolean(), out.toString());
    JsonObject round = report.getAsJsonArray("rounds").get(0).getAsJsonObject();
    // Each of the 4 subscribers sees its job's whole log: over 40 step events and job_finished.
    assertTrue(round.get("deliveredEvents").getAsLong() > 4 * 41, round.toString());
    assertTrue(round.get("wallWithSeconds").getAsDouble() > 0, round.toString());
    assertTrue(round.get("rssBytes").getAsLong() > 0, round.toString());
    assertTrue(Double.isFinite(report.get("wallRatio").getAsDouble()), report.toString());
    assertTrue(report.get("rssEndToStart").getAsDouble() > 0, report.toString());
    // Two rounds: the interval is their range, which holds their median.
    JsonObject interval = report.getAsJsonObject("roundRatioInterval");
    assertTrue(interval.get("low").getAsDouble() <= report.get("medianRoundRatio").getAsDouble()
        && report.get("medianRoundRatio").getAsDouble() <= interval.get("high").getAsDouble(),
        report.toString());
    assertTrue(java.util.Set.of("met", "not met", "undecided")
        .contains(report.get("wallRatioTarget").getAsString()), report.toString());
  }

  @Test
  void delaysReadAsMicroseconds() {
    assertEquals(2000, SoakBench.micros("2ms"));
    assertEquals(500, SoakBench.micros("500us"));
    assertEquals(3_000_000, SoakBench.micros("3s"));
    assertEquals(0, SoakBench.micros("0"));
  }
}
