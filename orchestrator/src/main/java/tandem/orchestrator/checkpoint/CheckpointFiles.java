package tandem.orchestrator.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import tandem.api.v1.CheckpointTensor;

/**
 * The file work of a job directory: tensors in {@code tensors.bin} with their CRC32C (as model
 * bundles checksum theirs), atomic replacement of small files, and syncs of files and of the
 * directories that hold renamed entries (without which a power loss may forget a rename).
 * Static methods only.
 */
final class CheckpointFiles {

  /** Floats per write or read of tensor data; bounds the heap copy. */
  private static final int CHUNK_FLOATS = 1 << 20;

  private CheckpointFiles() {}

  /** Appends {@code values} at the channel's position; the entry names where, with its CRC. */
  static CheckpointTensor writeTensor(FileChannel channel, String name, float[] values)
      throws IOException {
    long offset = channel.position();
    CRC32C crc = new CRC32C();
    ByteBuffer buffer = ByteBuffer.allocate(Math.min(values.length, CHUNK_FLOATS) * Float.BYTES)
        .order(ByteOrder.LITTLE_ENDIAN);
    for (int from = 0; from < values.length; from += CHUNK_FLOATS) {
      int count = Math.min(CHUNK_FLOATS, values.length - from);
      buffer.clear();
      buffer.asFloatBuffer().put(values, from, count);
      buffer.limit(count * Float.BYTES);
      crc.update(buffer.duplicate());
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
    }
    return CheckpointTensor.newBuilder().setName(name).setOffset(offset).setLength(values.length)
        .setCrc32C((int) crc.getValue()).build();
  }

  /**
   * Reads the tensor {@code entry} names; with {@code checked}, refuses it (an
   * {@link IOException} naming the tensor) unless its bytes match the entry's CRC32C.
   */
  static float[] readTensor(FileChannel channel, CheckpointTensor entry, boolean checked)
      throws IOException {
    if (entry.getLength() < 0 || entry.getOffset() < 0 || entry.getLength() > Integer.MAX_VALUE) {
      throw new IOException("tensor " + entry.getName() + " has an impossible length "
          + entry.getLength() + " or offset " + entry.getOffset());
    }
    // Before allocating: a damaged manifest must not make the server allocate gigabytes.
    long end = entry.getOffset() + entry.getLength() * Float.BYTES;
    if (end > channel.size()) {
      throw new IOException("tensor " + entry.getName() + " is cut short in tensors.bin: it "
          + "needs bytes " + entry.getOffset() + " to " + end + ", the file holds "
          + channel.size());
    }
    float[] values = new float[(int) entry.getLength()];
    CRC32C crc = new CRC32C();
    ByteBuffer buffer = ByteBuffer.allocate(Math.min(values.length, CHUNK_FLOATS) * Float.BYTES)
        .order(ByteOrder.LITTLE_ENDIAN);
    long position = entry.getOffset();
    for (int from = 0; from < values.length; from += CHUNK_FLOATS) {
      int count = Math.min(CHUNK_FLOATS, values.length - from);
      buffer.clear();
      buffer.limit(count * Float.BYTES);
      while (buffer.hasRemaining()) {
        if (channel.read(buffer, position + buffer.position()) < 0) {
          throw new IOException("tensor " + entry.getName() + " is cut short in tensors.bin");
        }
      }
      buffer.flip();
      crc.update(buffer.duplicate());
      buffer.asFloatBuffer().get(values, from, count);
      position += (long) count * Float.BYTES;
    }
    if (checked && (int) crc.getValue() != entry.getCrc32C()) {
      throw new IOException("tensor " + entry.getName() + " fails its CRC32C check in tensors.bin"
          + String.format(" (expected %08x, found %08x)", entry.getCrc32C(), (int) crc.getValue()));
    }
    return values;
  }

  /** Replaces {@code file} by {@code bytes} in one step, durably. */
  static void writeAtomically(Path file, byte[] bytes) throws IOException {
    Path temp = Files.createTempFile(file.getParent(), "." + file.getFileName(), ".tmp");
    Files.write(temp, bytes);
    sync(temp);
    Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    syncDirectory(file.getParent());
  }

  static void sync(Path file) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      channel.force(true);
    }
  }

  /**
   * Makes the entries of {@code dir} (renames, creations, deletions) durable. Where the platform
   * cannot open a directory for syncing (Windows) this does nothing.
   */
  static void syncDirectory(Path dir) throws IOException {
    FileChannel channel;
    try {
      channel = FileChannel.open(dir, StandardOpenOption.READ);
    } catch (IOException | UnsupportedOperationException e) {
      return;
    }
    try (channel) {
      channel.force(true);
    }
  }

  static void deleteRecursively(Path path) throws IOException {
    if (!Files.exists(path)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(path)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
