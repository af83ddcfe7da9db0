package tandem.model.bundle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.api.v1.BuiltinData;
import tandem.api.v1.DataSpec;
import tandem.api.v1.DenseLayer;
import tandem.api.v1.DenseStack;
import tandem.api.v1.JobSpec;
import tandem.api.v1.ModuleSpec;
import tandem.api.v1.OutputSpec;
import tandem.api.v1.StopCondition;
import tandem.api.v1.TaskSpec;
import tandem.model.data.Batch;
import tandem.model.data.DataSet;
import tandem.model.data.FunctionsData;
import tandem.model.spec.ServingGraphs;
import tandem.model.train.ModelParameters;
import tandem.model.train.TaskProgram;

/** Bundles: bit-exact round trips, roles, and a clear error for every kind of damage. */
class BundleTest {

  @TempDir
  Path dir;

  /** A trunk shared by two function tasks, each with its own head. */
  static JobSpec twoHeads() {
    JobSpec.Builder spec = JobSpec.newBuilder().setName("two-heads").setSeed(5)
        .setStop(StopCondition.newBuilder().setMaxSteps(10))
        .addModules(dense("trunk", 8, 16, "tanh"));
    for (int k = 0; k < 2; k++) {
      spec.addModules(dense("head" + k, 16, 1, "identity"));
      spec.addTasks(TaskSpec.newBuilder().setName("f" + k).setInput("x").addPath("trunk")
          .setData(DataSpec.newBuilder().setBuiltin(BuiltinData.newBuilder()
              .setName(FunctionsData.NAME).putOptions("function", "" + k)
              .putOptions("examples", "16")))
          .addOutputs(OutputSpec.newBuilder().setName("y").addModules("head" + k).setLoss("mse")
              .setLabel("y")));
    }
    return spec.build();
  }

  static ModuleSpec dense(String name, int in, int out, String activation) {
    return ModuleSpec.newBuilder().setName(name).setDense(DenseStack.newBuilder()
        .setInputSize(in).addLayers(DenseLayer.newBuilder().setSize(out)
            .setActivation(activation))).build();
  }

  private static ModelBundle bundle() throws Exception {
    JobSpec spec = twoHeads();
    Map<String, INDArray> parameters = ModelParameters.initial(ServingGraphs.resolve(spec), 5,
        DataType.FLOAT);
    return new ModelBundle(spec, parameters, ModelBundle.provenance("job-0001", spec, 10,
        Map.of("f0", "builtin:functions")), List.of());
  }

  @Test
  void roundTripIsBitExactWithSharedModulesFirst() throws Exception {
    ModelBundle bundle = bundle();
    Path file = dir.resolve("m.tandem");
    BundleWriter.write(bundle, file);
    ModelBundle read = BundleReader.read(file);
    assertEquals(bundle.spec(), read.spec());
    assertEquals(bundle.provenance(), read.provenance());
    assertEquals(List.of("trunk", "head0", "head1"), List.copyOf(read.parameters().keySet()));
    for (String module : bundle.parameters().keySet()) {
      assertArrayEquals(bundle.parameters().get(module).toFloatVector(),
          read.parameters().get(module).toFloatVector(), 0f, module);
    }
    try (var files = Files.list(dir)) {
      assertEquals(1, files.count(), "the temporary file is gone");
    }
    assertTrue(read.provenance().getBackend().length() > 0);
  }

  @Test
  void predictorMatchesTheTrainingProgramsForwardPass() throws Exception {
    TrainedModel model = TrainedModel.of(bundle(), "test");
    assertEquals(8, model.inputWidth("f1"));
    DataSet data = FunctionsData.create(1, 16);
    int[] rows = {0, 1, 2, 3, 4};
    Batch batch = data.batch(rows, DataType.FLOAT);
    INDArray expected = new TaskProgram(model.graph().task("f1"), DataType.FLOAT)
        .predict(model.parameters(), batch).get("y").dup();
    INDArray actual = model.predictor("f1").predict(batch).get(0).scores();
    assertArrayEquals(expected.toFloatMatrix(), actual.toFloatMatrix());
  }

  @Test
  void truncatedFileIsReportedAsTruncated() throws Exception {
    byte[] bytes = BundleWriter.toBytes(bundle());
    for (int length : new int[] {10, 40, bytes.length - 3}) {
      byte[] cut = java.util.Arrays.copyOf(bytes, length);
      InvalidBundleException e = assertThrows(InvalidBundleException.class,
          () -> BundleReader.read(cut, "cut.tandem"));
      assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }
  }

  @Test
  void flippedTensorByteFailsTheChecksumNamingTheModule() throws Exception {
    byte[] bytes = BundleWriter.toBytes(bundle());
    bytes[bytes.length - 2] ^= 0x40;
    InvalidBundleException e = assertThrows(InvalidBundleException.class,
        () -> BundleReader.read(bytes, "bad.tandem"));
    assertTrue(e.getMessage().contains("head1") && e.getMessage().contains("checksum"),
        e.getMessage());
  }

  @Test
  void flippedManifestByteOrMagicIsCorruption() throws Exception {
    byte[] manifest = BundleWriter.toBytes(bundle());
    manifest[30] ^= 0x01;
    assertTrue(assertThrows(InvalidBundleException.class,
        () -> BundleReader.read(manifest, "m")).getMessage().contains("manifest"));
    byte[] magic = BundleWriter.toBytes(bundle());
    magic[0] = 'X';
    assertTrue(assertThrows(InvalidBundleException.class,
        () -> BundleReader.read(magic, "m")).getMessage().contains("not a Tandem model bundle"));
  }

  @Test
  void parametersOfTheWrongSizeAreRejected() throws Exception {
    ModelBundle good = bundle();
    Map<String, INDArray> parameters = new java.util.LinkedHashMap<>(good.parameters());
    parameters.put("head0", Nd4j.zeros(DataType.FLOAT, 5));
    ModelBundle bad = new ModelBundle(good.spec(), parameters, good.provenance(), List.of());
    InvalidBundleException e = assertThrows(InvalidBundleException.class,
        () -> TrainedModel.of(BundleReader.read(BundleWriter.toBytes(bad), "b"), "b"));
    assertTrue(e.getMessage().contains("expected 17 parameters, found 5"), e.getMessage());
  }
}
