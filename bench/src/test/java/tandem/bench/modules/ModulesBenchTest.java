package tandem.bench.modules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import tandem.bench.BenchMain;

/** A short run of the benchmark prints a timing and a ratio for each module it compares. */
class ModulesBenchTest {

  @Test
  void aShortRunTimesEveryModuleOnBothPaths() {
    StringWriter printed = new StringWriter();
    CommandLine command = BenchMain.commandLine();
    command.setOut(new PrintWriter(printed));
    assertEquals(0, command.execute("modules", "--steps", "2", "--repeats", "1"));
    List<String> rows = printed.toString().lines().filter(line -> line.contains("fused / ND4J"))
        .toList();
    assertEquals(ModulesBench.cases().size(), rows.size(), printed.toString());
    for (String row : rows) {
      assertTrue(row.matches(".*fused +\\d+ us, ND4J ops +\\d+ us, fused / ND4J \\d+\\.\\d\\d"),
          row);
    }
  }

  @Test
  void stepsAndRepeatsMustBePositive() {
    CommandLine command = BenchMain.commandLine();
    command.setErr(new PrintWriter(new StringWriter()));
    assertEquals(2, command.execute("modules", "--steps", "0"));
  }
}
