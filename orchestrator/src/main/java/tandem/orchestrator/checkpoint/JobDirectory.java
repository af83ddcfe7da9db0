package tandem.orchestrator.checkpoint;

import com.google.protobuf.Timestamp;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
import tandem.worker.OptimizerSnapshot;

/**
 * One job's directory under {@code tandem.orchestrator.job-dir}: its spec, its checkpoints and
 * whether it finished (see checkpoint.proto for the layout). A checkpoint is written into a
 * directory of its own, synced, and only then named by the {@code LATEST} file, which is replaced
 * atomically: a crash at any point leaves the previous checkpoint readable. Not thread-safe: one
 * writer per job (its coordinator, one checkpoint at a time).
 */
public final class JobDirectory {

  private static final String SPEC = "spec.pb";
  private static final String FINISHED = "finished";
  private static final String LATEST = "LATEST";
  private static final String MANIFEST = "manifest.pb";
  private static final String TENSORS = "tensors.bin";
  private static final String EVENTS = "events.pb";
  /** Bytes per write of tensor data; bounds the heap copy. */
  private static final int CHUNK_FLOATS = 1 << 20;

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
    Files.createDirectories(dir);
    writeAtomically(dir.resolve(SPEC), spec.toByteArray());
  }

  public JobSpec readSpec() throws IOException {
    return JobSpec.parseFrom(Files.readAllBytes(dir.resolve(SPEC)));
  }

  /** Marks the job as ended (succeeded, failed or cancelled): not resumed at start. */
  public void markFinished(String state) throws IOException {
    Files.createDirectories(dir);
    writeAtomically(dir.resolve(FINISHED), (state + "\n").getBytes(StandardCharsets.UTF_8));
  }

  public boolean finished() {
    return Files.exists(dir.resolve(FINISHED));
  }

  /** Undoes {@link #markFinished} for a job resumed on request. */
  public void clearFinished() throws IOException {
    Files.deleteIfExists(dir.resolve(FINISHED));
  }

  /**
   * Writes {@code checkpoint} and makes it the latest; returns its directory. Events older than
   * the checkpoint's first one are carried over from the previous checkpoint.
   */
  public Path write(Checkpoint checkpoint) throws IOException {
    Files.createDirectories(dir);
    Path previous = latestDirectory().orElse(null);
    String name = String.format("step-%012d", checkpoint.step());
    Path target = dir.resolve(name);
    Path temp = Files.createTempDirectory(dir, ".writing-" + name + "-");
    CheckpointManifest.Builder manifest = CheckpointManifest.newBuilder()
        .setFormat(1)
        .setJobId(checkpoint.jobId())
        .setSpec(checkpoint.spec())
        .setWrittenAt(timestamp(Instant.now()))
        .setStep(checkpoint.step())
        .setTrunkVersion(checkpoint.trunkVersion())
        .setExamples(checkpoint.examples())
        .addAllScheduleChanges(checkpoint.scheduleChanges());
    try (FileChannel tensors = FileChannel.open(temp.resolve(TENSORS),
        StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      for (Map.Entry<String, INDArray> entry : checkpoint.parameters().entrySet()) {
        manifest.addParameters(writeTensor(tensors, entry.getKey(),
            entry.getValue().castTo(DataType.FLOAT).data().asFloat()));
      }
      for (Map.Entry<String, OptimizerSnapshot> entry : checkpoint.sharedOptimizers().entrySet()) {
        String key = entry.getKey();
        int split = key.indexOf('\u0000');
        manifest.addOptimizers(OptimizerEntry.newBuilder()
            .setModule(split < 0 ? key : key.substring(0, split))
            .setTask(split < 0 ? "" : key.substring(split + 1))
            .setIteration(entry.getValue().iteration())
            .setState(writeTensor(tensors, "optimizer:" + key, entry.getValue().state())));
      }
      for (Map.Entry<String, OptimizerSnapshot> entry : checkpoint.headOptimizers().entrySet()) {
        manifest.addOptimizers(OptimizerEntry.newBuilder()
            .setModule(entry.getKey())
            .setHead(true)
            .setIteration(entry.getValue().iteration())
            .setState(writeTensor(tensors, "optimizer:" + entry.getKey(),
                entry.getValue().state())));
      }
      tensors.force(true);
    }
    checkpoint.batchesDrawn().forEach((task, drawn) -> manifest.addSamplers(
        SamplerPosition.newBuilder().setTask(task).setBatchesDrawn(drawn)));
    List<TrainingEvent> events = new ArrayList<>();
    long first = checkpoint.events().isEmpty() ? Long.MAX_VALUE
        : checkpoint.events().get(0).getSequence();
    if (first > 1 && previous != null) {
      for (TrainingEvent event : readEvents(previous.resolve(EVENTS))) {
        if (event.getSequence() < first) {
          events.add(event);
        }
      }
    }
    events.addAll(checkpoint.events());
    manifest.setEventSequence(events.isEmpty() ? 0 : events.get(events.size() - 1).getSequence());
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(temp.resolve(EVENTS)))) {
      for (TrainingEvent event : events) {
        event.writeDelimitedTo(out);
      }
    }
    sync(temp.resolve(EVENTS));
    Files.write(temp.resolve(MANIFEST), manifest.build().toByteArray());
    sync(temp.resolve(MANIFEST));
    deleteRecursively(target);
    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
    writeAtomically(dir.resolve(LATEST), (name + "\n").getBytes(StandardCharsets.UTF_8));
    // Only the latest is kept; the previous one was complete until LATEST moved on.
    if (previous != null && !previous.equals(target)) {
      deleteRecursively(previous);
    }
    return target;
  }

  /** The latest complete checkpoint, if the job has one. */
  public Optional<Checkpoint> readLatest() throws IOException {
    Optional<Path> latest = latestDirectory();
    if (latest.isEmpty()) {
      return Optional.empty();
    }
    Path from = latest.get();
    CheckpointManifest manifest =
        CheckpointManifest.parseFrom(Files.readAllBytes(from.resolve(MANIFEST)));
    Map<String, INDArray> parameters = new LinkedHashMap<>();
    Map<String, OptimizerSnapshot> shared = new LinkedHashMap<>();
    Map<String, OptimizerSnapshot> heads = new LinkedHashMap<>();
    try (FileChannel tensors = FileChannel.open(from.resolve(TENSORS), StandardOpenOption.READ)) {
      for (CheckpointTensor entry : manifest.getParametersList()) {
        parameters.put(entry.getName(), Nd4j.createFromArray(readTensor(tensors, entry)));
      }
      for (OptimizerEntry entry : manifest.getOptimizersList()) {
        OptimizerSnapshot snapshot =
            new OptimizerSnapshot(entry.getIteration(), readTensor(tensors, entry.getState()));
        if (entry.getHead()) {
          heads.put(entry.getModule(), snapshot);
        } else {
          String key = entry.getTask().isEmpty() ? entry.getModule()
              : entry.getModule() + '\u0000' + entry.getTask();
          shared.put(key, snapshot);
        }
      }
    }
    Map<String, Long> drawn = new LinkedHashMap<>();
    manifest.getSamplersList().forEach(s -> drawn.put(s.getTask(), s.getBatchesDrawn()));
    return Optional.of(new Checkpoint(manifest.getJobId(), manifest.getSpec(), manifest.getStep(),
        manifest.getTrunkVersion(), manifest.getExamples(), parameters, shared, heads, drawn,
        manifest.getScheduleChangesList(), readEvents(from.resolve(EVENTS))));
  }

  private Optional<Path> latestDirectory() throws IOException {
    try {
      String name = Files.readString(dir.resolve(LATEST), StandardCharsets.UTF_8).trim();
      Path latest = dir.resolve(name);
      return Files.isRegularFile(latest.resolve(MANIFEST)) ? Optional.of(latest) : Optional.empty();
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  private static CheckpointTensor writeTensor(FileChannel channel, String name, float[] values)
      throws IOException {
    long offset = channel.position();
    ByteBuffer buffer = ByteBuffer.allocate(Math.min(values.length, CHUNK_FLOATS) * Float.BYTES)
        .order(ByteOrder.LITTLE_ENDIAN);
    for (int from = 0; from < values.length; from += CHUNK_FLOATS) {
      int count = Math.min(CHUNK_FLOATS, values.length - from);
      buffer.clear();
      buffer.asFloatBuffer().put(values, from, count);
      buffer.limit(count * Float.BYTES);
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
    }
    return CheckpointTensor.newBuilder().setName(name).setOffset(offset).setLength(values.length)
        .build();
  }

  private static float[] readTensor(FileChannel channel, CheckpointTensor entry) throws IOException {
    if (entry.getLength() > Integer.MAX_VALUE) {
      throw new IOException("tensor " + entry.getName() + " has " + entry.getLength()
          + " floats, more than one array can hold");
    }
    float[] values = new float[(int) entry.getLength()];
    ByteBuffer buffer = ByteBuffer.allocate(Math.min(values.length, CHUNK_FLOATS) * Float.BYTES)
        .order(ByteOrder.LITTLE_ENDIAN);
    long position = entry.getOffset();
    for (int from = 0; from < values.length; from += CHUNK_FLOATS) {
      int count = Math.min(CHUNK_FLOATS, values.length - from);
      buffer.clear();
      buffer.limit(count * Float.BYTES);
      while (buffer.hasRemaining()) {
        if (channel.read(buffer, position + buffer.position()) < 0) {
          throw new IOException("tensor " + entry.getName() + " is cut short in " + TENSORS);
        }
      }
      buffer.flip();
      buffer.asFloatBuffer().get(values, from, count);
      position += (long) count * Float.BYTES;
    }
    return values;
  }

  private static List<TrainingEvent> readEvents(Path file) throws IOException {
    List<TrainingEvent> events = new ArrayList<>();
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
      TrainingEvent event;
      while ((event = TrainingEvent.parseDelimitedFrom(in)) != null) {
        events.add(event);
      }
    } catch (NoSuchFileException e) {
      return List.of();
    }
    return events;
  }

  private static void writeAtomically(Path file, byte[] bytes) throws IOException {
    Path temp = Files.createTempFile(file.getParent(), "." + file.getFileName(), ".tmp");
    Files.write(temp, bytes);
    sync(temp);
    Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private static void sync(Path file) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      channel.force(true);
    }
  }

  private static void deleteRecursively(Path path) throws IOException {
    if (!Files.exists(path)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(path)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  private static Timestamp timestamp(Instant instant) {
    return Timestamp.newBuilder().setSeconds(instant.getEpochSecond()).setNanos(instant.getNano())
        .build();
  }
}
