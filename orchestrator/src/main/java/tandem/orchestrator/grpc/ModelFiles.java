package tandem.orchestrator.grpc;

import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Arrays;
import tandem.orchestrator.admission.LimitSettings;

/**
 * Where LoadModel may read: bundle files under the models directory
 * ({@code tandem.orchestrator.model-dir}), regular files only (no FIFO that hangs the reading
 * thread, no device or {@code /proc} file that never ends), no larger than
 * {@code limits.model-bytes}, and starting with a bundle's magic bytes, which are checked before
 * the file is read whole. A path elsewhere is refused without saying whether it exists, so
 * LoadModel is no oracle for the server's files. Immutable.
 */
final class ModelFiles {

  /** The first bytes of every bundle (BundleFormat.MAGIC in the model module). */
  private static final byte[] MAGIC = "TANDEMB1".getBytes(StandardCharsets.US_ASCII);

  private final Path dir;
  private final long maxBytes;

  /** @param dir the models directory, absolute; null: LoadModel is refused */
  ModelFiles(Path dir, long maxBytes) {
    this.dir = dir == null ? null : real(dir.toAbsolutePath().normalize());
    this.maxBytes = maxBytes;
  }

  /** The file {@code requested} names, checked; a status naming the field otherwise. */
  Path resolve(String requested) throws RequestFields.RequestException {
    if (dir == null) {
      throw refused(Status.FAILED_PRECONDITION, "path: this server loads no models over the API "
          + "(tandem.orchestrator.model-dir is empty)");
    }
    Path path;
    try {
      path = dir.resolve(requested).normalize();
    } catch (InvalidPathException e) {
      throw refused(Status.INVALID_ARGUMENT, "path: not a valid file path");
    }
    if (!path.startsWith(dir)) {
      throw outside();
    }
    if (!Files.exists(path)) {
      throw refused(Status.NOT_FOUND, "path: no bundle " + RequestFields.quote(requested)
          + " in the models directory");
    }
    Path file = real(path);
    if (!file.startsWith(dir)) {
      throw outside(); // a link out of the directory
    }
    if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
      throw refused(Status.INVALID_ARGUMENT, "path: not a regular file (a directory, FIFO, "
          + "device or other special file)");
    }
    try {
      long size = Files.size(file);
      if (size > maxBytes) {
        throw refused(Status.RESOURCE_EXHAUSTED, "path: bundle bytes " + size
            + " exceeds the limit of " + maxBytes + " (" + LimitSettings.PREFIX + "model-bytes)");
      }
      byte[] head;
      try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
        head = in.readNBytes(MAGIC.length);
      }
      if (!Arrays.equals(head, MAGIC)) {
        throw refused(Status.INVALID_ARGUMENT, "path: not a Tandem model bundle (expected the "
            + "magic bytes TANDEMB1 at the start)");
      }
    } catch (IOException e) {
      throw refused(Status.INVALID_ARGUMENT, "path: cannot read the bundle");
    }
    return file;
  }

  private RequestFields.RequestException outside() {
    return refused(Status.INVALID_ARGUMENT, "path: outside the models directory " + dir
        + " (tandem.orchestrator.model-dir)");
  }

  private static RequestFields.RequestException refused(Status status, String message) {
    return new RequestFields.RequestException(status.withDescription(message));
  }

  private static Path real(Path path) {
    try {
      return path.toRealPath();
    } catch (IOException e) {
      return path;
    }
  }
}
