package tandem.orchestrator.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import com.typesafe.config.ConfigFactory;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.api.v1.BundleChunk;
import tandem.api.v1.ExportModelRequest;
import tandem.api.v1.InferenceServiceGrpc;
import tandem.api.v1.JobState;
import tandem.api.v1.ListModelsRequest;
import tandem.api.v1.LoadModelRequest;
import tandem.api.v1.ModelServiceGrpc;
import tandem.api.v1.PredictRequest;
import tandem.api.v1.PredictResponse;
import tandem.api.v1.Row;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.TrainingServiceGrpc;
import tandem.model.bundle.ModelBundle;
import tandem.model.bundle.TrainedModel;
import tandem.model.data.Batch;
import tandem.orchestrator.TandemServer;
import tandem.orchestrator.TestServers;

/**
 * Export, serve and predict through a real server: predictions equal the trained model's
 * in-process outputs, concurrent requests are batched without mixing rows, and bad requests and
 * bad bundles each get a clear error while the server keeps serving.
 */
class ServingTest {

  @TempDir
  static Path dir;

  private static TandemServer server;
  private static ManagedChannel channel;
  private static TrainingServiceGrpc.TrainingServiceBlockingStub training;
  private static InferenceServiceGrpc.InferenceServiceBlockingStub inference;
  private static ModelServiceGrpc.ModelServiceBlockingStub models;
  private static String jobId;
  private static Path bundleFile;

  @BeforeAll
  static void trainAndExport() throws Exception {
    server = TestServers.start(1);
    channel = TestServers.channel(server);
    training = TrainingServiceGrpc.newBlockingStub(channel);
    inference = InferenceServiceGrpc.newBlockingStub(channel);
    models = ModelServiceGrpc.newBlockingStub(channel);
    jobId = training.submitJob(SubmitJobRequest.newBuilder()
        .setSpec(ServingSpecs.trunkWithHeads(2, 120)).build()).getJobId();
    assertEquals(JobState.JOB_STATE_SUCCEEDED, ServingSpecs.await(training, jobId,
        new ArrayList<>()));
    bundleFile = dir.resolve("two-heads.tandem");
    Files.write(bundleFile, export(ExportModelRequest.newBuilder().setJobId(jobId).build()));
    models.loadModel(LoadModelRequest.newBuilder().setPath(bundleFile.toString()).build());
  }

  @AfterAll
  static void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.close();
  }

  static byte[] export(ExportModelRequest request) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Iterator<BundleChunk> chunks = models.withDeadlineAfter(1, TimeUnit.MINUTES)
        .exportModel(request);
    while (chunks.hasNext()) {
      BundleChunk chunk = chunks.next();
      assertEquals(bytes.size(), chunk.getOffset());
      chunk.getData().writeTo(bytes);
    }
    return bytes.toByteArray();
  }

  static List<float[]> rows(int count, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    List<float[]> rows = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      float[] row = new float[8];
      for (int j = 0; j < 8; j++) {
        row[j] = (float) random.nextDouble(-1, 1);
      }
      rows.add(row);
    }
    return rows;
  }

  static PredictRequest.Builder request(String task, List<float[]> rows) {
    PredictRequest.Builder request = PredictRequest.newBuilder().setTask(task);
    for (float[] row : rows) {
      Row.Builder proto = Row.newBuilder();
      for (float value : row) {
        proto.addValues(value);
      }
      request.addInputs(proto);
    }
    return request;
  }

  /** Output y's score per row, as the response has them. */
  static float[][] scores(PredictResponse response) {
    return response.getOutputs(0).getRowsList().stream().map(row -> {
      float[] values = new float[row.getScoresCount()];
      for (int j = 0; j < values.length; j++) {
        values[j] = row.getScores(j);
      }
      return values;
    }).toArray(float[][]::new);
  }

  /** The same rows through the trained parameters in this JVM. */
  static float[][] inProcess(String job, String task, List<float[]> rows) throws Exception {
    var record = server.jobs().find(job).orElseThrow();
    TrainedModel model = TrainedModel.of(new ModelBundle(record.spec(),
        record.trainedParameters(), tandem.api.v1.Provenance.getDefaultInstance(), List.of()),
        job);
    float[] flat = new float[rows.size() * 8];
    for (int i = 0; i < rows.size(); i++) {
      System.arraycopy(rows.get(i), 0, flat, i * 8, 8);
    }
    INDArray x = Nd4j.create(flat, new long[] {rows.size(), 8}, 'c');
    return model.predictor(task).predict(new Batch(rows.size(), Map.of("x", x))).get(0)
        .scores().toFloatMatrix();
  }

  @Test
  void servedBundleAndJobPredictExactlyWhatTheTrainedModelComputes() throws Exception {
    List<float[]> rows = rows(5, 1);
    float[][] expected = inProcess(jobId, "f1", rows);
    PredictResponse byBundle = inference.predict(request("f1", rows).setModel("two-heads").build());
    PredictResponse byJob = inference.predict(request("f1", rows).setJobId(jobId).build());
    assertArrayEquals(expected, scores(byBundle));
    assertArrayEquals(expected, scores(byJob));
    assertEquals("mse", byBundle.getOutputs(0).getLoss());
    assertEquals(expected[2][0], byBundle.getOutputs(0).getRows(2).getLabel(0));
    assertEquals("two-heads", byBundle.getModel());
  }

  @Test
  void concurrentRequestsAreBatchedAndEachGetsItsOwnRows() throws Exception {
    // A server serving the bundle whose batches run only when full: 24 rows per task, which the
    // requests below add up to for each task; the delay is beyond the test's deadline, so the
    // batches do not depend on how fast the requests arrive.
    TandemServer batching = TestServers.start(1, null, ConfigFactory.parseMap(Map.of(
        "tandem.orchestrator.serving.max-delay", "10m",
        "tandem.orchestrator.serving.max-batch-rows", 24)));
    ManagedChannel batchingChannel = TestServers.channel(batching);
    try {
      batching.models().load(bundleFile, "");
      InferenceServiceGrpc.InferenceServiceFutureStub async =
          InferenceServiceGrpc.newFutureStub(batchingChannel);
      List<List<float[]>> inputs = new ArrayList<>();
      List<ListenableFuture<PredictResponse>> answers = new ArrayList<>();
      for (int r = 0; r < 24; r++) {
        // Rows 1, 2, 3, 1, ...: each task's 12 requests hold 24 rows.
        List<float[]> rows = rows(1 + r % 3, 100 + r);
        inputs.add(rows);
        answers.add(async.predict(request("f" + (r % 2), rows).setModel("two-heads").build()));
      }
      for (int r = 0; r < answers.size(); r++) {
        float[][] expected = inProcess(jobId, "f" + (r % 2), inputs.get(r));
        float[][] actual = scores(answers.get(r).get(30, TimeUnit.SECONDS));
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
          assertArrayEquals(expected[i], actual[i], 1e-5f, "request " + r + " row " + i);
        }
      }
      assertEquals(2, batching.predictions().batchesRun(),
          "24 requests for two tasks ran as one forward pass per task");
    } finally {
      batchingChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      batching.close();
    }
  }

  @Test
  void badRequestsGetClearErrorsAndTheServerKeepsServing() {
    List<float[]> rows = rows(2, 7);
    expect(Status.Code.NOT_FOUND, "no task 'nope'",
        () -> inference.predict(request("nope", rows).setModel("two-heads").build()));
    expect(Status.Code.NOT_FOUND, "no model named 'other'",
        () -> inference.predict(request("f0", rows).setModel("other").build()));
    expect(Status.Code.NOT_FOUND, "no job with id 'job-9999'",
        () -> inference.predict(request("f0", rows).setJobId("job-9999").build()));
    List<float[]> narrow = List.of(new float[8], new float[7]);
    expect(Status.Code.INVALID_ARGUMENT, "inputs[1]: expected 8 values",
        () -> inference.predict(request("f0", narrow).setModel("two-heads").build()));
    expect(Status.Code.INVALID_ARGUMENT, "empty batch",
        () -> inference.predict(request("f0", List.of()).setModel("two-heads").build()));
    float[] nan = new float[8];
    nan[3] = Float.NaN;
    expect(Status.Code.INVALID_ARGUMENT, "inputs[0].values[3]: expected a finite number",
        () -> inference.predict(request("f0", List.of(nan)).setModel("two-heads").build()));
    assertEquals(2, inference.predict(request("f0", rows).setModel("two-heads").build())
        .getOutputs(0).getRowsCount());
  }

  @Test
  void corruptedOrTruncatedBundlesFailToLoadAndTheServerKeepsServing() throws Exception {
    byte[] bytes = Files.readAllBytes(bundleFile);
    byte[] flipped = bytes.clone();
    flipped[flipped.length - 10] ^= 0x08;
    Path corrupted = dir.resolve("corrupted.tandem");
    Files.write(corrupted, flipped);
    Path truncated = dir.resolve("truncated.tandem");
    Files.write(truncated, java.util.Arrays.copyOf(bytes, bytes.length - 100));
    expect(Status.Code.INVALID_ARGUMENT, "checksum does not match", () -> models.loadModel(
        LoadModelRequest.newBuilder().setPath(corrupted.toString()).build()));
    expect(Status.Code.INVALID_ARGUMENT, "truncated", () -> models.loadModel(
        LoadModelRequest.newBuilder().setPath(truncated.toString()).build()));
    expect(Status.Code.NOT_FOUND, "no bundle", () -> models.loadModel(
        LoadModelRequest.newBuilder().setPath(dir.resolve("absent").toString()).build()));
    expect(Status.Code.ALREADY_EXISTS, "already served", () -> models.loadModel(
        LoadModelRequest.newBuilder().setPath(bundleFile.toString()).build()));
    List<String> names = inference.listModels(ListModelsRequest.getDefaultInstance())
        .getModelsList().stream().map(m -> m.getName()).toList();
    assertTrue(names.contains("two-heads") && names.contains(jobId), names.toString());
    assertTrue(!names.contains("corrupted") && !names.contains("truncated"), names.toString());
    assertNotNull(inference.predict(request("f0", rows(1, 3)).setModel("two-heads").build()));
  }

  @Test
  void manyHeadsExampleTrainsAndServesEveryHead() {
    tandem.api.v1.JobSpec spec = tandem.orchestrator.Specs.example("many-heads");
    assertEquals(200, spec.getTasksCount());
    String job = training.submitJob(SubmitJobRequest.newBuilder().setSpec(spec.toBuilder()
        .setStop(spec.getStop().toBuilder().setMaxSteps(100))).build()).getJobId();
    assertEquals(JobState.JOB_STATE_SUCCEEDED, ServingSpecs.await(training, job,
        new ArrayList<>()));
    tandem.api.v1.ModelInfo info = inference.listModels(ListModelsRequest.getDefaultInstance())
        .getModelsList().stream().filter(m -> m.getName().equals(job)).findFirst().orElseThrow();
    assertEquals(List.of("trunk"), info.getSharedModulesList());
    assertEquals(List.of("head_f199"), info.getTasks(199).getHeadsList());
    assertEquals(1, inference.predict(request("f199", rows(1, 9)).setJobId(job).build())
        .getOutputs(0).getRowsCount());
  }

  @Test
  void routedTaskIsServedThroughItsFields() throws Exception {
    tandem.api.v1.JobSpec spec = tandem.orchestrator.Specs.example("arithmetic-routed");
    String job = training.submitJob(SubmitJobRequest.newBuilder().setSpec(spec.toBuilder()
        .setStop(spec.getStop().toBuilder().setMaxSteps(50))).build()).getJobId();
    assertEquals(JobState.JOB_STATE_SUCCEEDED, ServingSpecs.await(training, job,
        new ArrayList<>()));
    // Number 3 through each encoder, each operation.
    Map<String, float[][]> fields = Map.of(
        "binary", new float[][] {{0, 0, 1, 1}, {0, 0, 1, 1}},
        "decimal", new float[][] {oneHot(10, 3), oneHot(10, 3)},
        "encoder", new float[][] {oneHot(2, 0), oneHot(2, 1)},
        "operation", new float[][] {oneHot(2, 1), oneHot(2, 0)});
    PredictRequest.Builder request = PredictRequest.newBuilder().setJobId(job).setTask("routed");
    Map<String, INDArray> arrays = new java.util.HashMap<>();
    fields.forEach((name, values) -> {
      tandem.api.v1.Rows.Builder rows = tandem.api.v1.Rows.newBuilder();
      for (float[] row : values) {
        Row.Builder proto = Row.newBuilder();
        for (float value : row) {
          proto.addValues(value);
        }
        rows.addRows(proto);
      }
      request.putFields(name, rows.build());
      arrays.put(name, Nd4j.create(values));
    });
    PredictResponse response = inference.predict(request.build());
    var record = server.jobs().find(job).orElseThrow();
    TrainedModel model = TrainedModel.of(new ModelBundle(record.spec(),
        record.trainedParameters(), tandem.api.v1.Provenance.getDefaultInstance(), List.of()),
        job);
    var expected = model.predictor("routed").predict(new Batch(2, arrays));
    assertEquals(2, response.getOutputsCount());
    for (int o = 0; o < 2; o++) {
      float[][] scores = expected.get(o).scores().toFloatMatrix();
      for (int i = 0; i < 2; i++) {
        var row = response.getOutputs(o).getRows(i);
        float[] actual = new float[row.getScoresCount()];
        for (int j = 0; j < actual.length; j++) {
          actual[j] = row.getScores(j);
        }
        assertArrayEquals(scores[i], actual, 1e-6f);
      }
    }
    assertEquals("softmax_cross_entropy", response.getOutputs(0).getLoss());
    assertEquals(1, response.getOutputs(0).getRows(0).getLabelCount());
    assertEquals(5, response.getOutputs(1).getRows(0).getLabelCount());
    expect(Status.Code.INVALID_ARGUMENT, "send them in fields", () -> inference.predict(
        request("routed", rows(1, 1)).setJobId(job).build()));
  }

  private static float[] oneHot(int width, int hot) {
    float[] row = new float[width];
    row[hot] = 1;
    return row;
  }

  static void expect(Status.Code code, String fragment, Executable call) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
    assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
    assertTrue(e.getStatus().getDescription().contains(fragment), e.getStatus().getDescription());
  }
}
