package tandem.orchestrator.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
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
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tandem.api.v1.CheckpointManifest;
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
import tandem.orchestrator.checkpoint.Resumable;

/**
 * What the job directory keeps across a server restart: a succeeded job's model (served again
 * from its final checkpoint), a job's previous checkpoint when the latest one is damaged, and a
 * job whose checkpoint does not fit this server's memory (left for the next start).
 */
class DurableModelsTest {

  /**
   * Checkpoints and the live log keep every event (the defaults are the newest 10,000 and
   * 200,000). These jobs train tens of thousands of steps a second and their events reach a
   * test's subscriber a linger after they happen. With the checkpoint's default, by the time the
   * server closed, the checkpoint a restart falls back to sometimes held events from the 3,000s
   * on only, and the resumed log began with events_missed. With the log's, a subscriber that
   * came a few seconds after the restart (a loaded CI machine) found job_resumed already out of
   * the log, got events_missed in its place, and waited for it until its deadline.
   */
  private static final Config EVERY_EVENT = ConfigFactory.parseString(
      "tandem.orchestrator.checkpoint.events = 10000000\n"
      + "tandem.orchestrator.retained-events = 10000000");

  @Test
  void aSucceededJobsModelServesPredictAfterARestart(@TempDir Path jobDir) throws Exception {
    List<float[]> rows = ServingTest.rows(5, 3);
    String jobId;
    PredictResponse before;
    try (TandemServer server = TestServers.start(1, jobDir, EVERY_EVENT)) {
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
    try (TandemServer restarted = TestServers.start(1, jobDir, EVERY_EVENT)) {
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
    String jobId = trainUntilCheckpoints(jobDir, 2);
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

    TrainingEvent last = resumeThenCancel(jobDir, jobId, events -> {
      TrainingEvent resumed = events.get(events.size() - 1);
      assertEquals(previousStep, resumed.getJobResumed().getFromStep(), resumed.toString());
      for (int i = 0; i < events.size(); i++) {
        assertEquals(i + 1, events.get(i).getSequence(), "sequence numbers without gaps");
      }
    });
    assertEquals(JobState.JOB_STATE_CANCELLED, last.getJobFinished().getState());
  }

  @Test
  void aCheckpointTooLargeForThisServersMemoryLeavesTheJobUnfinishedAndTheServerStarts(
      @TempDir Path jobDir) throws Exception {
    String jobId = trainUntilCheckpoints(jobDir, 1);
    Path job = jobDir.resolve(jobId);
    Path latest = job.resolve(Files.readString(job.resolve("LATEST"), StandardCharsets.UTF_8)
        .trim());
    Path manifest = latest.resolve("manifest.pb");
    Path tensors = latest.resolve("tensors.bin");
    byte[] intact = Files.readAllBytes(manifest);
    long intactBytes = Files.size(tensors);
    // Every checkpoint of the job now holds a parameter of a billion floats (4 GB: twice this
    // JVM's heap), its bytes there (a sparse file: no disk used), as a job trained on a server
    // with more memory would.
    CheckpointManifest.Builder large = CheckpointManifest.parseFrom(intact).toBuilder();
    large.getParametersBuilder(0).setOffset(intactBytes).setLength(1_000_000_000L);
    try (Stream<Path> entries = Files.list(job)) {
      for (Path checkpoint : entries.filter(p -> p.getFileName().toString().startsWith("step-"))
          .toList()) {
        Files.write(checkpoint.resolve("manifest.pb"), large.build().toByteArray());
        resize(checkpoint.resolve("tensors.bin"), intactBytes + 4_000_000_000L);
      }
    }

    try (TandemServer restarted = TestServers.start(1, jobDir, EVERY_EVENT)) {
      assertTrue(restarted.jobs().find(jobId).isEmpty(), "not resumed here");
      assertEquals(List.of(jobId), Resumable.unfinished(jobDir),
          "left unfinished, not marked failed: the next start tries again");
      ManagedChannel channel = TestServers.channel(restarted);
      try {
        // The server serves all the same.
        var training = TrainingServiceGrpc.newBlockingStub(channel);
        String other = training.submitJob(SubmitJobRequest.newBuilder()
            .setSpec(ServingSpecs.trunkWithHeads(2, 30)).build()).getJobId();
        assertEquals(JobState.JOB_STATE_SUCCEEDED,
            ServingSpecs.await(training, other, new ArrayList<>()));
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }

    // Given the memory (here: its checkpoint as it was), the next start resumes it.
    Files.write(manifest, intact);
    resize(tensors, intactBytes);
    resumeThenCancel(jobDir, jobId, events -> { });
  }

  /**
   * Submits a job that checkpoints every 100 steps and runs until cancelled, and closes the
   * server (which stops the job, resumable) once it wrote {@code checkpoints} checkpoints.
   */
  private static String trainUntilCheckpoints(Path jobDir, int checkpoints) throws Exception {
    JobSpec spec = ServingSpecs.trunkWithHeads(2, 100_000_000).toBuilder()
        .setCheckpoint(CheckpointSpec.newBuilder().setEverySteps(100)).build();
    try (TandemServer server = TestServers.start(1, jobDir, EVERY_EVENT)) {
      ManagedChannel channel = TestServers.channel(server);
      try {
        var training = TrainingServiceGrpc.newBlockingStub(channel);
        String jobId = training.submitJob(SubmitJobRequest.newBuilder().setSpec(spec).build())
            .getJobId();
        Iterator<TrainingEvent> events = training.withDeadlineAfter(2, TimeUnit.MINUTES)
            .streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId).build());
        int written = 0;
        while (written < checkpoints) {
          TrainingEvent event = events.next();
          assertTrue(!event.hasJobFinished(), event.toString());
          written += event.hasCheckpointWritten() ? 1 : 0;
        }
        return jobId;
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * Starts a server on {@code jobDir}, hands {@code check} job {@code jobId}'s events from its
   * first to its job_resumed, then cancels the job; its last event.
   */
  private static TrainingEvent resumeThenCancel(Path jobDir, String jobId,
      Consumer<List<TrainingEvent>> check) throws Exception {
    try (TandemServer server = TestServers.start(1, jobDir, EVERY_EVENT)) {
      ManagedChannel channel = TestServers.channel(server);
      try {
        var training = TrainingServiceGrpc.newBlockingStub(channel);
        Iterator<TrainingEvent> stream = training.withDeadlineAfter(2, TimeUnit.MINUTES)
            .streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId).build());
        List<TrainingEvent> events = new ArrayList<>();
        TrainingEvent event;
        do {
          event = stream.next();
          events.add(event);
          // The job runs until cancelled: job_resumed missed would be waited for forever.
          assertTrue(!event.hasEventsMissed() && !event.hasJobFinished(),
              "before job_resumed: " + event);
        } while (!event.hasJobResumed());
        check.accept(events);
        training.cancelJob(tandem.api.v1.CancelJobRequest.newBuilder().setJobId(jobId).build());
        stream.forEachRemaining(events::add);
        return events.get(events.size() - 1);
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private static void resize(Path file, long bytes) throws Exception {
    try (java.io.RandomAccessFile open = new java.io.RandomAccessFile(file.toFile(), "rw")) {
      open.setLength(bytes);
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
