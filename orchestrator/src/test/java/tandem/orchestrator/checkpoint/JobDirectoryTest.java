package tandem.orchestrator.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;
import tandem.api.v1.CheckpointManifest;
import tandem.api.v1.CheckpointTensor;
import tandem.api.v1.JobSpec;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.JobStarted;
import tandem.worker.OptimizerSnapshot;

/** The job directory's format: checksums, the kept previous checkpoint, old formats. */
class JobDirectoryTest {

  private static final String JOB = "job-7";

  @Test
  void aCorruptedTensorFileIsRefusedWithTheReasonAndThePreviousCheckpointIsUsed(
      @TempDir Path jobDir) throws IOException {
    JobDirectory directory = new JobDirectory(jobDir, JOB);
    directory.write(checkpoint(100, 1f));
    Path latest = directory.write(checkpoint(200, 2f));
    flipBytes(latest.resolve("tensors.bin"), 5);

    JobDirectory.Loaded loaded = directory.readNewestIntact();
    assertEquals(100, loaded.checkpoint().orElseThrow().step());
    assertArrayEquals(new float[] {1f, 1f, 1f},
        loaded.checkpoint().orElseThrow().parameters().get("trunk").data().asFloat());
    assertEquals(1, loaded.refused().size(), loaded.refused().toString());
    String reason = loaded.refused().get(0);
    assertTrue(reason.contains("step-000000000200") && reason.contains("trunk")
        && reason.contains("CRC32C"), reason);
    // readLatest, what a resume calls, falls back the same way.
    assertEquals(100, directory.readLatest().orElseThrow().step());
  }

  @Test
  void aManifestClaimingMoreThanTheTensorFileHoldsIsRefusedBeforeAnythingIsAllocated(
      @TempDir Path jobDir) throws IOException {
    JobDirectory directory = new JobDirectory(jobDir, JOB);
    directory.write(checkpoint(100, 1f));
    Path latest = directory.write(checkpoint(200, 2f));
    // 2 billion floats (8 GB): allocated before the file was read, more than this JVM's heap.
    setFirstParameterLength(latest, 2_000_000_000L);

    JobDirectory.Loaded loaded = directory.readNewestIntact();
    assertEquals(100, loaded.checkpoint().orElseThrow().step());
    String reason = loaded.refused().get(0);
    assertTrue(reason.contains("step-000000000200") && reason.contains("cut short")
        && reason.contains("8000000000"), reason);
  }

  /** Rewrites the manifest of the checkpoint in {@code at}: its first parameter's length. */
  static void setFirstParameterLength(Path at, long length) throws IOException {
    Path manifest = at.resolve("manifest.pb");
    tandem.api.v1.CheckpointManifest.Builder builder =
        tandem.api.v1.CheckpointManifest.parseFrom(Files.readAllBytes(manifest)).toBuilder();
    builder.getParametersBuilder(0).setLength(length);
    Files.write(manifest, builder.build().toByteArray());
  }

  @Test
  void onlyTheLatestAndThePreviousCheckpointsAreKept(@TempDir Path jobDir) throws IOException {
    JobDirectory directory = new JobDirectory(jobDir, JOB);
    Files.createDirectories(jobDir.resolve(JOB).resolve(".writing-step-000000000050-123"));
    for (long step = 100; step <= 400; step += 100) {
      directory.write(checkpoint(step, step));
    }
    try (Stream<Path> entries = Files.list(jobDir.resolve(JOB))) {
      assertEquals(List.of("LATEST", "step-000000000300", "step-000000000400"),
          entries.map(p -> p.getFileName().toString()).sorted().toList());
    }
    Checkpoint read = directory.readLatest().orElseThrow();
    assertEquals(400, read.step());
    assertArrayEquals(new float[] {400f, 400f}, read.headOptimizers().get("head").state());
    assertEquals(2, read.events().size());
  }

  @Test
  void aCheckpointAtTheLatestsStepDoesNotReplaceItInPlace(@TempDir Path jobDir)
      throws IOException {
    JobDirectory directory = new JobDirectory(jobDir, JOB);
    Path first = directory.write(checkpoint(100, 1f));
    Path second = directory.write(checkpoint(100, 2f));
    assertFalse(first.equals(second));
    assertTrue(Files.isDirectory(first), "the previous one stays as the fallback");
    assertEquals(2f, directory.readLatest().orElseThrow().parameters().get("trunk").getFloat(0));
  }

  @Test
  void aFormatOneCheckpointWithoutChecksumsIsStillRead(@TempDir Path jobDir) throws IOException {
    JobDirectory directory = new JobDirectory(jobDir, JOB);
    Path written = directory.write(checkpoint(100, 3f));
    Path manifestFile = written.resolve("manifest.pb");
    CheckpointManifest manifest = CheckpointManifest.parseFrom(Files.readAllBytes(manifestFile));
    CheckpointManifest.Builder old = manifest.toBuilder().setFormat(1).clearParameters();
    for (CheckpointTensor tensor : manifest.getParametersList()) {
      old.addParameters(tensor.toBuilder().clearCrc32C());
    }
    old.getOptimizersBuilderList().forEach(o -> o.getStateBuilder().clearCrc32C());
    Files.write(manifestFile, old.build().toByteArray());
    assertEquals(3f, directory.readLatest().orElseThrow().parameters().get("trunk").getFloat(0));
  }

  /**
   * A format 2 checkpoint holds every event since the job began; read back, it is folded one
   * event at a time into its newest events and the state of the log they make up.
   */
  @Test
  void aFormatTwoCheckpointsWholeHistoryIsFoldedIntoItsNewestEventsAndTheLogsState(
      @TempDir Path jobDir) throws IOException {
    JobDirectory directory = new JobDirectory(jobDir, JOB);
    Path written = directory.write(checkpoint(100, 3f));
    int events = CheckpointEvents.LEGACY_EVENTS_KEPT + 2000;
    try (var out = new java.io.BufferedOutputStream(
        Files.newOutputStream(written.resolve("events.pb")))) {
      event(1).writeDelimitedTo(out);
      for (long sequence = 2; sequence <= events; sequence++) {
        // A second run (incarnation 7) from event 5,001 on.
        TrainingEvent.newBuilder().setSequence(sequence).setJobId(JOB)
            .setIncarnation(sequence > 5000 ? 7 : 0)
            .setStepCompleted(tandem.api.v1.StepCompleted.newBuilder().setStep(sequence - 1)
                .setTask("t").setLoss(1.0 / sequence).setExamples(4))
            .build().writeDelimitedTo(out);
      }
    }
    Path manifestFile = written.resolve("manifest.pb");
    CheckpointManifest manifest = CheckpointManifest.parseFrom(Files.readAllBytes(manifestFile));
    Files.write(manifestFile, manifest.toBuilder().setFormat(2).clearLogState()
        .setEventSequence(events).build().toByteArray());

    Checkpoint read = directory.readLatest().orElseThrow();
    assertEquals(CheckpointEvents.LEGACY_EVENTS_KEPT, read.events().size());
    assertEquals(events, read.events().get(read.events().size() - 1).getSequence());
    assertEquals(events, read.eventSequence());
    assertEquals(events - 1, read.logState().getProgress().getStepsDone(), "every step folded");
    assertEquals(List.of(0L, 7L), read.logState().getSegmentsList().stream()
        .map(tandem.api.v1.LogSegment::getIncarnation).toList());
    assertEquals(5001, read.logState().getSegments(1).getFirstSequence());
  }

  @Test
  void aCheckpointKeepingNoEventsReadsBackWithItsLogState(@TempDir Path jobDir)
      throws IOException {
    JobDirectory directory = new JobDirectory(jobDir, JOB);
    Checkpoint full = checkpoint(100, 1f);
    directory.write(new Checkpoint(full.jobId(), full.spec(), full.step(), full.trunkVersion(),
        full.examples(), full.parameters(), full.sharedOptimizers(), full.headOptimizers(),
        full.batchesDrawn(), full.scheduleChanges(), List.of(), full.logState()));
    Checkpoint read = directory.readLatest().orElseThrow();
    assertTrue(read.events().isEmpty());
    assertEquals(2, read.eventSequence());
  }

  @Test
  void aCheckpointWithNoIntactCopyReadsAsNone(@TempDir Path jobDir) throws IOException {
    JobDirectory directory = new JobDirectory(jobDir, JOB);
    Path only = directory.write(checkpoint(100, 1f));
    Files.write(only.resolve("tensors.bin"), new byte[0]); // cut short
    JobDirectory.Loaded loaded = directory.readNewestIntact();
    assertTrue(loaded.checkpoint().isEmpty());
    assertTrue(loaded.refused().get(0).contains("cut short"), loaded.refused().toString());
  }

  @Test
  void aJobWhoseEveryCheckpointIsDamagedIsNotResumedFromStepZero(@TempDir Path jobDir)
      throws IOException {
    JobDirectory directory = new JobDirectory(jobDir, JOB);
    directory.writeSpec(JobSpec.newBuilder().setName("t").build());
    Path only = directory.write(checkpoint(100, 1f));
    flipBytes(only.resolve("tensors.bin"), 0);
    IOException refused = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
        () -> Resumable.load(jobDir, JOB));
    assertTrue(refused.getMessage().contains("no intact checkpoint")
        && refused.getMessage().contains("CRC32C"), refused.getMessage());
  }

  static void flipBytes(Path file, long at) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ,
        StandardOpenOption.WRITE)) {
      ByteBuffer one = ByteBuffer.allocate(1);
      channel.read(one, at);
      one.flip();
      byte flipped = (byte) ~one.get();
      channel.write(ByteBuffer.wrap(new byte[] {flipped}), at);
      channel.force(true);
    }
  }

  private static Checkpoint checkpoint(long step, float value) {
    List<TrainingEvent> events = List.of(
        event(1), event(2));
    return new Checkpoint(JOB, JobSpec.newBuilder().setName("t").build(), step, step, step * 4,
        Map.of("trunk", Nd4j.createFromArray(new float[] {value, value, value}),
            "head", Nd4j.createFromArray(new float[] {value})),
        Map.of(), Map.of("head", new OptimizerSnapshot(3, new float[] {value, value})),
        Map.of("t", step), List.of(), events,
        tandem.api.v1.EventLogState.newBuilder().setLastSequence(2).build());
  }

  private static TrainingEvent event(long sequence) {
    return TrainingEvent.newBuilder().setSequence(sequence).setJobId(JOB)
        .setJobStarted(JobStarted.getDefaultInstance()).build();
  }
}
