package tandem.bench.peers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import tandem.bench.BenchMain;

/**
 * {@code bench/run.sh peers} end to end on a few steps, with a Python that does not exist: both
 * workloads train on Tandem's two paths and report their figures, and PyTorch is skipped with a
 * message that says how to install it. Not timed.
 */
class PeersBenchTest {

  @Test
  void reportsBothTandemPathsOnBothWorkloadsAndSaysWhyPytorchWasSkipped() {
    Path root = repositoryRoot();
    assertTrue(Files.isRegularFile(root.resolve("../shared/data/conll2000/train.txt")),
        "CoNLL-2000 data not found (../shared is part of every checkout)");
    StringWriter out = new StringWriter();
    CommandLine command = BenchMain.commandLine();
    command.setOut(new PrintWriter(out));
    int exitCode = command.execute("peers", "--repeats", "1", "--two-head-steps", "60",
        "--conll-steps", "20", "--warmup-turns", "0", "--python", "/nonexistent/python3",
        "--base-dir", root.toString(), "--json");
    assertEquals(0, exitCode, out.toString());
    JsonObject report = JsonParser.parseString(out.toString()).getAsJsonObject();
    String pytorch = report.get("pytorch").getAsString();
    assertTrue(pytorch.startsWith("PyTorch skipped") && pytorch.contains(
        "apt-get install python3 python3-torch libopenblas0-serial"), pytorch);
    JsonObject systems = report.getAsJsonObject("systems");
    for (String system : List.of("two-head/tandem-loop", "two-head/tandem-actor",
        "conll/tandem-loop", "conll/tandem-actor", "conll/tandem-loop-lazy",
        "conll/tandem-actor-lazy")) {
      JsonObject figures = systems.getAsJsonObject(system);
      assertTrue(figures != null, system + " missing from " + systems.keySet());
      double rate = figures.get("examplesPerSecond").getAsDouble();
      double roofline = figures.get("roofline").getAsDouble();
      assertTrue(rate > 0 && Double.isFinite(rate), system + ": " + rate);
      assertTrue(roofline > 0 && Double.isFinite(roofline), system + " roofline " + roofline);
    }
    assertTrue(!systems.has("two-head/pytorch"), "no PyTorch figures without PyTorch");
    JsonObject roofline = report.getAsJsonObject("roofline");
    // Two-head: 2 x 64 x (64 x 256 x 2 + 256 x 10 x 3) flops of products per step.
    assertEquals(2.0 * 64 * (64 * 256 * 2 + 256 * 10 * 3),
        roofline.get("two-head/flopsPerStep").getAsDouble(), 1.0);
  }

  private static Path repositoryRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isRegularFile(dir.resolve("bench/peers.py"))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new IllegalStateException("bench/peers.py not found above "
          + Path.of("").toAbsolutePath());
    }
    return dir;
  }
}
