package tandem.orchestrator.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import java.nio.channels.FileChannel;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tandem.api.v1.CheckpointSpec;
import tandem.api.v1.InferenceServiceGrpc;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.ListModelsRequest;
import tandem.api.v1.ModelInfo;
import tandem.api.v1.PredictResponse;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingServiceGrpc;
import tandem.orchestrator.TandemServer;
import tandem.orchestrator.TestServers;

/**
 * What the job directory keeps across a server restart: a succeeded job's model (served again
 * from its final checkpoint), and a job's previous checkpoint when the latest one is damaged.
 */
class DurableModelsTest {

  @Test
  void aSucceededJobsModelServesPredictAfterARestart(@TempDir Path jobDir) throws Exception {
    List<float[]> rows = ServingTest.rows(5, 3);
    String jobId;
    PredictResponse before;
    try (TandemServer server = TestServers.start(1, jobDir)) {
      ManagedChannel channel = TestServers.channel(server);
      try {
        var training = TrainingServiceGrpc.newBlockingStub(channel);
        jobId = training.submitJob(SubmitJobRequest.newBuilder()
            .setSpec(ServingSpecs.trunkWithHeads(2, 60)).build()).getJobId();
        assertEquals(JobState.JOB_STATE_SUCCEEDED,
            ServingSpecs.await(training, jobId, new ArrayList<>()));
        before = InferenceServiceGrpc.newBlockingStub(channel)
            .predict(ServingTest.request("f1", rows).setJobId(jobId).build());
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
    try (TandemServer restarted = TestServers.start(1, jobDir)) {
      assertTrue(restarted.jobs().find(jobId).isEmpty(), "the job is not in memory");
      ManagedChannel channel = TestServers.channel(restarted);
      try {
        var inference = InferenceServiceGrpc.newBlockingStub(channel);
        List<ModelInfo> models =
            inference.listModels(ListModelsRequest.getDefaultInstance()).getModelsList();
        ModelInfo info = models.stream().filter(m -> m.getName().equals(jobId)).findFirst()
            .orElseThrow(() -> new AssertionError("not listed: " + models));
        assertEquals("job", info.getKind());
        assertEquals(2, info.getTasksCount());
        PredictResponse after =
            inference.predict(ServingTest.request("f1", rows).setJobId(jobId).build());
        float[][] expected = ServingTest.scores(before);
        float[][] actual = ServingTest.scores(after);
        for (int i = 0; i < expected.length; i++) {
          assertArrayEquals(expected[i], actual[i], 0f, "row " + i);
        }
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void aCorruptedLatestCheckpointIsRefusedAndTheJobResumesFromThePreviousOne(
      @TempDir Path jobDir) throws Exception {
    // Runs until cancelled: the server is closed while it trains.
    JobSpec spec = ServingSpecs.trunkWithHeads(2, 100_000_000).toBuilder()
        .setCheckpoint(CheckpointSpec.newBuilder().setEverySteps(100)).build();
    String jobId;
    try (TandemServer server = TestServers.start(1, jobDir)) {
      ManagedChannel channel = TestServers.channel(server);
      try {
        var training = TrainingServiceGrpc.newBlockingStub(channel);
        jobId = training.submitJob(SubmitJobRequest.newBuilder().setSpec(spec).build())
            .getJobId();
        Iterator<TrainingEvent> events = training.withDeadlineAfter(2, TimeUnit.MINUTES)
            .streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId).build());
        int checkpoints = 0;
        while (checkpoints < 2) {
          TrainingEvent event = events.next();
          assertTrue(!event.hasJobFinished(), event.toString());
          checkpoints += event.hasCheckpointWritten() ? 1 : 0;
        }
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } // stops the job; it stays resumable
    Path job = jobDir.resolve(jobId);
    String latest = Files.readString(job.resolve("LATEST"), StandardCharsets.UTF_8).trim();
    List<String> kept;
    try (Stream<Path> entries = Files.list(job)) {
      kept = entries.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("step-"))
          .sorted().toList();
    }
    // The latest and the one before it; a third when the close cut a write short of its
    // clean-up. The fallback is the newest one other than the latest.
    assertTrue(kept.size() >= 2 && kept.contains(latest), kept + ", latest " + latest);
    String fallback = kept.stream().filter(n -> !n.equals(latest))
        .max(java.util.Comparator.naturalOrder()).orElseThrow();
    long previousStep = Long.parseLong(fallback.substring("step-".length()).split("-")[0]);
    flip(job.resolve(latest).resolve("tensors.bin"), 17);

    try (TandemServer restarted = TestServers.start(1, jobDir)) {
      ManagedChannel channel = TestServers.channel(restarted);
      try {
        var training = TrainingServiceGrpc.newBlockingStub(channel);
        Iterator<TrainingEvent> stream = training.withDeadlineAfter(2, TimeUnit.MINUTES)
            .streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId).build());
        List<TrainingEvent> events = new ArrayList<>();
        do {
          events.add(stream.next());
        } while (!events.get(events.size() - 1).hasJobResumed());
        TrainingEvent resumed = events.get(events.size() - 1);
        assertEquals(previousStep, resumed.getJobResumed().getFromStep(), resumed.toString());
        for (int i = 0; i < events.size(); i++) {
          assertEquals(i + 1, events.get(i).getSequence(), "sequence numbers without gaps");
        }
        training.cancelJob(tandem.api.v1.CancelJobRequest.newBuilder().setJobId(jobId).build());
        stream.forEachRemaining(events::add);
        assertEquals(JobState.JOB_STATE_CANCELLED,
            events.get(events.size() - 1).getJobFinished().getState());
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private static void flip(Path file, long at) throws Exception {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ,
        StandardOpenOption.WRITE)) {
      ByteBuffer one = ByteBuffer.allocate(1);
      channel.read(one, at);
      channel.write(ByteBuffer.wrap(new byte[] {(byte) ~one.get(0)}), at);
    }
  }
}
