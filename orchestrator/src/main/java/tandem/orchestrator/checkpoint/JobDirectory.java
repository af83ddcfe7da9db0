package tandem.orchestrator.checkpoint;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.api.v1.CheckpointManifest;
import tandem.api.v1.JobSpec;
import tandem.api.v1.OptimizerEntry;
import tandem.api.v1.SamplerPosition;
import tandem.api.v1.CheckpointTensor;
import tandem.api.v1.TrainingEvent;
import tandem.orchestrator.job.EventLog;
import tandem.orchestrator.job.ProtoTime;
import tandem.worker.OptimizerSnapshot;

/**
 * One job's directory under {@code tandem.orchestrator.job-dir}: its spec, its checkpoints and
 * whether it finished (see checkpoint.proto for the layout). A checkpoint is written into a
 * directory of its own, synced, and only then named by the {@code LATEST} file, which is replaced
 * atomically; the directory is synced after each rename, so a power loss cannot leave
 * {@code LATEST} naming a deleted checkpoint. Each tensor carries a CRC32C, checked on read; a
 * damaged latest checkpoint is refused (logged with the reason) and the previous one, kept until
 * the next is durable, is used. Not thread-safe: one writer per job (its coordinator, one
 * checkpoint at a time).
 */
public final class JobDirectory {

  private static final String SPEC = "spec.pb";
  private static final String FINISHED = "finished";
  private static final String LATEST = "LATEST";
  private static final String MANIFEST = "manifest.pb";
  private static final String TENSORS = "tensors.bin";
  private static final String EVENTS = "events.pb";
  /** Prefix of a checkpoint directory while it is written. */
  private static final String WRITING = ".writing-";
  /** The manifest format written: 2 adds a CRC32C per tensor; 1 is still read. */
  static final int FORMAT = 3;
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(JobDirectory.class);

  private final Path dir;
  private final String jobId;

  public JobDirectory(Path jobDir, String jobId) {
    this.dir = jobDir.resolve(jobId);
    this.jobId = jobId;
  }

  public Path path() {
    return dir;
  }

  public String jobId() {
    return jobId;
  }

  /** Job ids with a directory under {@code jobDir} (finished or not), in name order. */
  public static List<String> jobIds(Path jobDir) throws IOException {
    if (!Files.isDirectory(jobDir)) {
      return List.of();
    }
    try (Stream<Path> entries = Files.list(jobDir)) {
      return entries.filter(p -> Files.isRegularFile(p.resolve(SPEC)))
          .map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  /** Records the job's spec when it starts. */
  public void writeSpec(JobSpec spec) throws IOException {
    boolean created = !Files.isDirectory(dir);
    Files.createDirectories(dir);
    if (created) {
      CheckpointFiles.syncDirectory(dir.getParent());
    }
    CheckpointFiles.writeAtomically(dir.resolve(SPEC), spec.toByteArray());
  }

  public JobSpec readSpec() throws IOException {
    return JobSpec.parseFrom(Files.readAllBytes(dir.resolve(SPEC)));
  }

  /** Marks the job as ended (succeeded, failed or cancelled): not resumed at start. */
  public void markFinished(String state) throws IOException {
    Files.createDirectories(dir);
    CheckpointFiles.writeAtomically(dir.resolve(FINISHED), (state + "\n").getBytes(StandardCharsets.UTF_8));
  }

  public boolean finished() {
    return Files.exists(dir.resolve(FINISHED));
  }

  /** The state {@link #markFinished} recorded ({@code JOB_STATE_SUCCEEDED}...); empty if none. */
  public Optional<String> finishedState() throws IOException {
    try {
      return Optional.of(Files.readString(dir.resolve(FINISHED), StandardCharsets.UTF_8).trim());
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  /**
   * The checkpoint {@code LATEST} names, and only that one (a finished job's final state: an
   * older one is not a substitute); empty when there is none, an {@link IOException} with the
   * reason when it is damaged.
   */
  public Optional<Checkpoint> readFinal() throws IOException {
    Optional<Path> latest = latestDirectory();
    return latest.isEmpty() ? Optional.empty() : Optional.of(read(latest.get()));
  }

  /** Undoes {@link #markFinished} for a job resumed on request. */
  public void clearFinished() throws IOException {
    if (Files.deleteIfExists(dir.resolve(FINISHED))) {
      CheckpointFiles.syncDirectory(dir);
    }
  }

  /**
   * Writes {@code checkpoint} and makes it the latest; returns its directory. The previous
   * checkpoint stays until this one is durable (its files, its directory's rename and
   * {@code LATEST} synced), and then stays as the fallback; older ones are deleted.
   */
  public Path write(Checkpoint checkpoint) throws IOException {
    boolean created = !Files.isDirectory(dir);
    Files.createDirectories(dir);
    if (created) {
      CheckpointFiles.syncDirectory(dir.getParent());
    }
    Path previous = latestDirectory().orElse(null);
    String name = String.format("step-%012d", checkpoint.step());
    Path target = dir.resolve(name);
    for (int n = 2; target.equals(previous); n++) {
      // Never replace the latest in place: it is the fallback until the new one is durable.
      name = String.format("step-%012d-%d", checkpoint.step(), n);
      target = dir.resolve(name);
    }
    Path temp = Files.createTempDirectory(dir, WRITING + name + "-");
    CheckpointManifest.Builder manifest = CheckpointManifest.newBuilder()
        .setFormat(FORMAT)
        .setJobId(checkpoint.jobId())
        .setSpec(checkpoint.spec())
        .setWrittenAt(ProtoTime.timestamp(Instant.now()))
        .setStep(checkpoint.step())
        .setTrunkVersion(checkpoint.trunkVersion())
        .setExamples(checkpoint.examples())
        .addAllScheduleChanges(checkpoint.scheduleChanges());
    try (FileChannel tensors = FileChannel.open(temp.resolve(TENSORS),
        StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      for (Map.Entry<String, INDArray> entry : checkpoint.parameters().entrySet()) {
        manifest.addParameters(CheckpointFiles.writeTensor(tensors, entry.getKey(),
            entry.getValue().castTo(DataType.FLOAT).data().asFloat()));
      }
      for (Map.Entry<String, OptimizerSnapshot> entry : checkpoint.sharedOptimizers().entrySet()) {
        String key = entry.getKey();
        int split = key.indexOf('\u0000');
        manifest.addOptimizers(OptimizerEntry.newBuilder()
            .setModule(split < 0 ? key : key.substring(0, split))
            .setTask(split < 0 ? "" : key.substring(split + 1))
            .setIteration(entry.getValue().iteration())
            .setState(CheckpointFiles.writeTensor(tensors, "optimizer:" + key,
                entry.getValue().state())));
      }
      for (Map.Entry<String, OptimizerSnapshot> entry : checkpoint.headOptimizers().entrySet()) {
        manifest.addOptimizers(OptimizerEntry.newBuilder()
            .setModule(entry.getKey())
            .setHead(true)
            .setIteration(entry.getValue().iteration())
            .setState(CheckpointFiles.writeTensor(tensors, "optimizer:" + entry.getKey(),
                entry.getValue().state())));
      }
      tensors.force(true);
    }
    checkpoint.batchesDrawn().forEach((task, drawn) -> manifest.addSamplers(
        SamplerPosition.newBuilder().setTask(task).setBatchesDrawn(drawn)));
    // The newest events and the log's state (format 3).
    List<TrainingEvent> events = checkpoint.events();
    manifest.setLogState(checkpoint.logState());
    manifest.setEventSequence(checkpoint.eventSequence());
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(temp.resolve(EVENTS)))) {
      for (TrainingEvent event : events) {
        event.writeDelimitedTo(out);
      }
    }
    CheckpointFiles.sync(temp.resolve(EVENTS));
    Files.write(temp.resolve(MANIFEST), manifest.build().toByteArray());
    CheckpointFiles.sync(temp.resolve(MANIFEST));
    CheckpointFiles.syncDirectory(temp);
    pauseForTests(temp);
    CheckpointFiles.deleteRecursively(target);
    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
    CheckpointFiles.syncDirectory(dir);
    CheckpointFiles.writeAtomically(dir.resolve(LATEST),
        (name + "\n").getBytes(StandardCharsets.UTF_8));
    // Durable now: keep the previous one as the fallback, delete the rest and stale temporaries.
    deleteAllBut(target, previous);
    return target;
  }

  private void deleteAllBut(Path latest, Path previous) throws IOException {
    List<Path> stale;
    try (Stream<Path> entries = Files.list(dir)) {
      stale = entries.filter(p -> {
        String file = p.getFileName().toString();
        return (file.startsWith("step-") || file.startsWith(WRITING)) && Files.isDirectory(p)
            && !p.equals(latest) && !p.equals(previous);
      }).toList();
    }
    for (Path path : stale) {
      CheckpointFiles.deleteRecursively(path);
    }
  }

  /**
   * Test hook: {@code -Dtandem.test.checkpoint-pause-ms=N} holds every checkpoint write for N ms
   * after its files are synced and before it is renamed into place, so that a test can kill the
   * server in the middle of a write. Unset in production.
   */
  private static void pauseForTests(Path writing) {
    long millis = Long.getLong("tandem.test.checkpoint-pause-ms", 0);
    if (millis > 0) {
      LOG.info("test hook: checkpoint write paused for {} ms before its rename: {}", millis,
          writing);
      try {
        Thread.sleep(millis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * The latest intact checkpoint, if the job has one: the one {@code LATEST} names, or, when
   * that one is damaged (a tensor fails its CRC32C, a file is cut short or unreadable), the
   * previous one. Every checkpoint refused on the way is logged with the reason.
   */
  public Optional<Checkpoint> readLatest() throws IOException {
    Loaded loaded = readNewestIntact();
    loaded.refused().forEach(reason ->
        LOG.warn("job {}: checkpoint refused: {}", jobId, reason));
    return loaded.checkpoint();
  }

  /**
   * What {@link #readNewestIntact()} found.
   *
   * @param checkpoint the newest intact checkpoint; empty when there is none
   * @param refused a line for each newer checkpoint refused, naming it and why
   */
  public record Loaded(Optional<Checkpoint> checkpoint, List<String> refused) {}

  /**
   * Tries {@code LATEST}'s checkpoint, then the others in the directory from the newest step
   * down, and returns the first that reads whole with every checksum matching.
   */
  public Loaded readNewestIntact() throws IOException {
    List<Path> candidates = new ArrayList<>();
    latestDirectory().ifPresent(candidates::add);
    if (Files.isDirectory(dir)) {
      try (Stream<Path> entries = Files.list(dir)) {
        entries.filter(p -> p.getFileName().toString().startsWith("step-")
                && Files.isRegularFile(p.resolve(MANIFEST)) && !candidates.contains(p))
            .sorted(Comparator.comparing((Path p) -> p.getFileName().toString()).reversed())
            .forEach(candidates::add);
      }
    }
    List<String> refused = new ArrayList<>();
    for (Path candidate : candidates) {
      try {
        return new Loaded(Optional.of(read(candidate)), refused);
      } catch (IOException | RuntimeException e) {
        refused.add(candidate.getFileName() + ": " + e.getMessage());
      }
    }
    return new Loaded(Optional.empty(), refused);
  }

  private static Checkpoint read(Path from) throws IOException {
    CheckpointManifest manifest =
        CheckpointManifest.parseFrom(Files.readAllBytes(from.resolve(MANIFEST)));
    if (manifest.getFormat() < 1 || manifest.getFormat() > FORMAT) {
      throw new IOException("manifest format " + manifest.getFormat() + " is not one this server"
          + " reads (1 to " + FORMAT + ")");
    }
    boolean checked = manifest.getFormat() >= 2;
    Map<String, INDArray> parameters = new LinkedHashMap<>();
    Map<String, OptimizerSnapshot> shared = new LinkedHashMap<>();
    Map<String, OptimizerSnapshot> heads = new LinkedHashMap<>();
    try (FileChannel tensors = FileChannel.open(from.resolve(TENSORS), StandardOpenOption.READ)) {
      for (CheckpointTensor entry : manifest.getParametersList()) {
        parameters.put(entry.getName(),
            Nd4j.createFromArray(CheckpointFiles.readTensor(tensors, entry, checked)));
      }
      for (OptimizerEntry entry : manifest.getOptimizersList()) {
        OptimizerSnapshot snapshot = new OptimizerSnapshot(entry.getIteration(),
            CheckpointFiles.readTensor(tensors, entry.getState(), checked));
        if (entry.getHead()) {
          heads.put(entry.getModule(), snapshot);
        } else {
          String key = entry.getTask().isEmpty() ? entry.getModule()
              : entry.getModule() + '\u0000' + entry.getTask();
          shared.put(key, snapshot);
        }
      }
    }
    List<TrainingEvent> events;
    tandem.api.v1.EventLogState logState;
    if (manifest.getFormat() >= 3) {
      events = CheckpointEvents.read(from.resolve(EVENTS));
      logState = manifest.getLogState();
    } else {
      // Every event since the job began: folded as it is read into what format 3 keeps.
      EventLog.Retained folded = CheckpointEvents.fold(from.resolve(EVENTS), manifest);
      events = folded.events();
      logState = folded.state();
    }
    // No events at all where the checkpoint keeps none (checkpoint.events = 0).
    long last = events.isEmpty() ? logState.getLastSequence()
        : events.get(events.size() - 1).getSequence();
    if (last != manifest.getEventSequence() || logState.getLastSequence() != last) {
      throw new IOException("events.pb ends at event " + last + ", the manifest says "
          + manifest.getEventSequence() + " and its log state "
          + logState.getLastSequence());
    }
    Map<String, Long> drawn = new LinkedHashMap<>();
    manifest.getSamplersList().forEach(s -> drawn.put(s.getTask(), s.getBatchesDrawn()));
    return new Checkpoint(manifest.getJobId(), manifest.getSpec(), manifest.getStep(),
        manifest.getTrunkVersion(), manifest.getExamples(), parameters, shared, heads, drawn,
        manifest.getScheduleChangesList(), events, logState);
  }

  private Optional<Path> latestDirectory() throws IOException {
    try {
      String name = Files.readString(dir.resolve(LATEST), StandardCharsets.UTF_8).trim();
      if (!name.startsWith("step-") || name.contains("/") || name.contains("\\")) {
        return Optional.empty();
      }
      Path latest = dir.resolve(name);
      return Files.isRegularFile(latest.resolve(MANIFEST)) ? Optional.of(latest) : Optional.empty();
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

}
