package tandem.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tandem.api.v1.JobSpec;
import tandem.api.v1.ModuleSpec;
import tandem.api.v1.TaskSpec;

class JobSpecsTest {

  @Test
  void parsesTheArithmeticExample() throws Exception {
    JobSpec spec = JobSpecs.read(repoFile("examples/arithmetic.json"));

    assertEquals(List.of("binary_encoder", "decimal_encoder", "plus1", "times2", "binary_decoder", "decimal_decoder"),
        spec.getModulesList().stream().map(ModuleSpec::getName).toList());
    assertEquals(List.of("binary_plus1", "binary_times2", "decimal_plus1", "decimal_times2"),
        spec.getTasksList().stream().map(TaskSpec::getName).toList());
    assertEquals(5, spec.getModules(4).getDense().getLayers(1).getSize());
    assertEquals(20, spec.getModules(5).getDense().getLayers(1).getSize());
    TaskSpec decimalTimes2 = spec.getTasks(3);
    assertEquals("decimal", decimalTimes2.getInput());
    assertEquals(List.of("decimal_encoder", "times2"), decimalTimes2.getPathList());
    assertEquals("times2", decimalTimes2.getData().getBuiltin().getOptionsOrThrow("operation"));
    assertEquals("result_bits", decimalTimes2.getOutputs(0).getLabel());
    assertEquals("softmax_cross_entropy", decimalTimes2.getOutputs(1).getLoss());
    assertEquals(10, decimalTimes2.getBatchSize());
    assertEquals(2000, spec.getStop().getMaxSteps());
    assertEquals(7, spec.getSeed());
    assertEquals(1, spec.getConsistency().getStepsInFlight());
  }

  @Test
  void theBundledCopyMatchesTheExample() throws Exception {
    assertEquals(JobSpecs.read(repoFile("examples/arithmetic.json")),
        JobSpecs.readResource(DemoCommand.BUNDLED_SPEC));
  }

  @Test
  void rejectsAnUnknownFieldNamingIt(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("bad.json");
    Files.writeString(file, "{\"name\": \"x\", \"maxStep\": 10}");
    JobSpecException e = assertThrows(JobSpecException.class, () -> JobSpecs.read(file));
    assertTrue(e.getMessage().contains("maxStep"), e.getMessage());
    assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
  }

  @Test
  void reportsAMissingFile(@TempDir Path dir) {
    Path file = dir.resolve("nope.json");
    JobSpecException e = assertThrows(JobSpecException.class, () -> JobSpecs.read(file));
    assertEquals("cannot read job spec " + file + ": no such file", e.getMessage());
  }

  @Test
  void printsBackWhatItParses() throws Exception {
    JobSpec spec = JobSpecs.read(repoFile("examples/arithmetic.json"));
    assertEquals(spec, JobSpecs.parse(JobSpecs.toJson(spec), "printed"));
  }

  /** Walks up from the working directory (the module, under Maven) to find a repository file. */
  static Path repoFile(String relative) {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path candidate = dir.resolve(relative);
      if (Files.isRegularFile(candidate)) {
        return candidate;
      }
    }
    throw new AssertionError(relative + " not found above " + Path.of("").toAbsolutePath());
  }
}
