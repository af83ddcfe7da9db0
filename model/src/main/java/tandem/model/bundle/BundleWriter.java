package tandem.model.bundle;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.api.v1.BundleManifest;
import tandem.api.v1.JobSpec;
import tandem.api.v1.OutputSpec;
import tandem.api.v1.TaskSpec;
import tandem.api.v1.TensorEntry;

/**
 * Writes a {@link ModelBundle} in the bundle layout ({@link BundleFormat}): every tensor as
 * float32 little-endian with its CRC32C, shape and role (shared or the head of which task) in the
 * manifest. Files are written to a temporary file next to the target and renamed over it, so a
 * reader never sees half a bundle. Stateless and thread-safe.
 */
public final class BundleWriter {

  private BundleWriter() {}

  /** Writes {@code bundle} to {@code file} atomically (temporary file, then rename). */
  public static void write(ModelBundle bundle, Path file) throws IOException {
    Path target = file.toAbsolutePath();
    Path temp = Files.createTempFile(target.getParent(), target.getFileName().toString(), ".tmp");
    try {
      try (OutputStream out = Files.newOutputStream(temp)) {
        write(bundle, out);
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  /** The bundle file's bytes. */
  public static byte[] toBytes(ModelBundle bundle) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      write(bundle, out);
    } catch (IOException e) {
      throw new IllegalStateException("in-memory stream failed", e);
    }
    return out.toByteArray();
  }

  /** Writes the bundle's bytes to {@code out}; does not close it. */
  public static void write(ModelBundle bundle, OutputStream out) throws IOException {
    Map<String, String> owners = owners(bundle.spec());
    BundleManifest.Builder manifest = BundleManifest.newBuilder()
        .setFormatVersion(BundleFormat.VERSION)
        .setSpec(bundle.spec())
        .setProvenance(bundle.provenance())
        .addAllVocabularies(bundle.vocabularies());
    List<byte[]> tensors = new ArrayList<>();
    long offset = 0;
    List<String> specOrder = bundle.spec().getModulesList().stream()
        .map(tandem.api.v1.ModuleSpec::getName).toList();
    for (String module : bundle.parameters().keySet()) {
      if (!specOrder.contains(module)) {
        throw new IllegalArgumentException("parameters of module '" + module
            + "', which the bundle's spec does not have");
      }
    }
    // Shared modules first, then heads, each group in spec order.
    for (boolean shared : new boolean[] {true, false}) {
      for (String module : specOrder) {
        INDArray parameters = bundle.parameters().get(module);
        String owner = owners.getOrDefault(module, "");
        if (parameters == null || owner.isEmpty() != shared) {
          continue;
        }
        byte[] bytes = floatBytes(parameters);
        manifest.addTensors(TensorEntry.newBuilder()
            .setModule(module)
            .setRole(shared ? "shared" : "head")
            .setTask(owner)
            .setOffset(offset)
            .setLength(bytes.length)
            .setDtype(BundleFormat.FLOAT32)
            .addShape(parameters.length())
            .setCrc32C((int) BundleFormat.crc32c(bytes, 0, bytes.length)));
        tensors.add(bytes);
        offset += bytes.length;
      }
    }
    byte[] manifestBytes = manifest.setDataLength(offset).build().toByteArray();
    DataOutputStream data = new DataOutputStream(out);
    data.write(BundleFormat.MAGIC);
    data.writeInt(manifestBytes.length);
    data.writeInt((int) BundleFormat.crc32c(manifestBytes, 0, manifestBytes.length));
    data.write(manifestBytes);
    for (byte[] tensor : tensors) {
      data.write(tensor);
    }
    data.flush();
  }

  /**
   * The task owning each head, by module name; shared modules (two or more users) and unused
   * ones are absent.
   */
  static Map<String, String> owners(JobSpec spec) {
    Map<String, List<String>> users = new LinkedHashMap<>();
    for (TaskSpec task : spec.getTasksList()) {
      List<String> modules = new ArrayList<>(task.getPathList());
      for (OutputSpec output : task.getOutputsList()) {
        modules.addAll(output.getModulesList());
      }
      modules.stream().distinct().forEach(module ->
          users.computeIfAbsent(module, m -> new ArrayList<>()).add(task.getName()));
    }
    Map<String, String> owners = new LinkedHashMap<>();
    users.forEach((module, tasks) -> {
      if (tasks.size() == 1) {
        owners.put(module, tasks.get(0));
      }
    });
    return owners;
  }

  private static byte[] floatBytes(INDArray parameters) {
    float[] values = parameters.castTo(DataType.FLOAT).reshape(parameters.length())
        .toFloatVector();
    ByteBuffer buffer = ByteBuffer.allocate(values.length * Float.BYTES)
        .order(ByteOrder.LITTLE_ENDIAN);
    buffer.asFloatBuffer().put(values);
    return buffer.array();
  }
}
