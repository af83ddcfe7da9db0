package tandem.bench.conll;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import tandem.bench.BenchMain;

/**
 * The four CoNLL-2000 variants, as the examples define them, trained briefly on a slice of the
 * data (the first 1,500 training sentences and the few later ones that complete the tag sets, the
 * first 300 test sentences): the figures must be
 * computed and sane, not good. Not timed. Fails where the shared data is absent.
 */
class ConllBenchTest {

  private static final int STEPS_PER_TASK = 150;
  /** The examples' batch size. */
  private static final int BATCH_SIZE = 256;

  @TempDir
  Path dir;

  @Test
  void trainsEveryVariantOnASliceAndScoresPosAccuracyAndChunkF1() throws IOException {
    Path root = repositoryRoot();
    Path data = root.resolve("../shared/data/conll2000");
    assertTrue(Files.isRegularFile(data.resolve("train.txt")),
        "CoNLL-2000 data not found at " + data + " (../shared is part of every checkout)");
    // The specs read ../shared/data/conll2000/*.txt relative to the base directory.
    Path base = Files.createDirectories(dir.resolve("repo"));
    Path slices = Files.createDirectories(dir.resolve("shared/data/conll2000"));
    writeSentences(data.resolve("train.txt"), slices.resolve("train.txt"), 1500);
    writeSentences(data.resolve("test.txt"), slices.resolve("test.txt"), 300);

    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine command = BenchMain.commandLine();
    command.setOut(new PrintWriter(out));
    command.setErr(new PrintWriter(err));
    int exitCode = command.execute("conll", "--examples", root.resolve("examples").toString(),
        "--base-dir", base.toString(), "--steps-per-task", String.valueOf(STEPS_PER_TASK),
        "--json");

    assertEquals(0, exitCode, out + "\n" + err);
    JsonObject report = JsonParser.parseString(out.toString()).getAsJsonObject();
    JsonArray variants = report.getAsJsonArray("variants");
    assertEquals(ConllBench.VARIANTS.size(), variants.size());
    for (int v = 0; v < variants.size(); v++) {
      JsonObject variant = variants.get(v).getAsJsonObject();
      String name = variant.get("variant").getAsString();
      assertEquals(ConllBench.VARIANTS.get(v), name);
      long steps = variant.get("steps").getAsLong();
      assertEquals(name.endsWith("alternate") ? 2 * STEPS_PER_TASK : STEPS_PER_TASK, steps);
      assertEquals(steps * BATCH_SIZE, variant.get("examples").getAsLong());
      assertTrue(variant.get("examplesPerSecond").getAsDouble() > 0, name);
      assertTrue(variant.get("evaluationSeconds").getAsDouble() > 0, name);
      boolean pos = !name.endsWith("chunk");
      boolean chunk = !name.endsWith("pos");
      assertEquals(pos, variant.has("posAccuracy"), name);
      assertEquals(chunk, variant.has("chunkF1"), name);
      if (pos) {
        // The majority tag (NN) is 14% of the tokens; a few thousand tokens per tag do far better.
        double accuracy = variant.get("posAccuracy").getAsDouble();
        assertTrue(accuracy > 0.7 && accuracy <= 1, name + " POS accuracy " + accuracy);
      }
      if (chunk) {
        double f1 = variant.get("chunkF1").getAsDouble();
        double precision = variant.get("chunkPrecision").getAsDouble();
        double recall = variant.get("chunkRecall").getAsDouble();
        assertTrue(f1 > 0.5 && f1 <= 1, name + " chunk F1 " + f1);
        assertEquals(2 * precision * recall / (precision + recall), f1, 1e-9);
        assertTrue(variant.get("goldChunks").getAsLong() > 1000, name);
        assertTrue(variant.get("correctChunks").getAsLong()
            <= variant.get("predictedChunks").getAsLong(), name);
      }
    }
    assertTrue(report.has("bestMultiTaskChunkF1MinusSingleTask"));
    assertFalse(report.get("loop").getAsString().isEmpty());
  }

  private static Path repositoryRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isRegularFile(dir.resolve("examples/conll2000-joint.json"))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new IllegalStateException("examples/conll2000-joint.json not found above "
          + Path.of("").toAbsolutePath());
    }
    return dir;
  }

  /**
   * Copies the first {@code sentences} sentences of a CoNLL file and, after them, each later
   * sentence that holds a POS tag or chunk type not seen yet, so that the slice has the full tag
   * sets the examples' heads are sized for. Sentences end in a blank line.
   */
  private static void writeSentences(Path from, Path to, int sentences) throws IOException {
    List<String> lines = Files.readAllLines(from);
    List<String> slice = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    List<String> sentence = new ArrayList<>();
    int taken = 0;
    for (String line : lines) {
      if (!line.isBlank()) {
        sentence.add(line);
        continue;
      }
      boolean adds = false;
      for (String token : sentence) {
        String[] columns = token.split(" ");
        adds |= seen.add("pos " + columns[1]) | seen.add("chunk " + columns[2].replaceAll(
            "^[BI]-", ""));
      }
      if (taken < sentences || adds) {
        slice.addAll(sentence);
        slice.add("");
      }
      taken++;
      sentence.clear();
    }
    Files.write(to, slice);
  }
}
