package tandem.model.bundle;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.api.v1.BundleManifest;
import tandem.api.v1.TensorEntry;

/**
 * Reads a bundle file back into a {@link ModelBundle}, checking everything it can before handing
 * out a parameter: the magic, the manifest's checksum and format version, that the file is
 * neither truncated nor padded, and each tensor's type, bounds, shape and CRC32C. Any problem is
 * an {@link InvalidBundleException} naming the file and what is wrong. Stateless and thread-safe.
 */
public final class BundleReader {

  private BundleReader() {}

  /** The bundle in {@code file}. */
  public static ModelBundle read(Path file) throws InvalidBundleException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new InvalidBundleException("bundle " + file + ": no such file");
    } catch (IOException e) {
      throw new InvalidBundleException("bundle " + file + ": cannot read it: " + e.getMessage(), e);
    }
    return read(bytes, file.toString());
  }

  /** The bundle in {@code bytes}; {@code source} names it in errors (a path, "job-0001"). */
  public static ModelBundle read(byte[] bytes, String source) throws InvalidBundleException {
    String name = "bundle " + source;
    if (bytes.length < BundleFormat.HEADER_BYTES) {
      throw new InvalidBundleException(name + ": truncated: " + bytes.length
          + " bytes, shorter than the " + BundleFormat.HEADER_BYTES + "-byte header");
    }
    if (!Arrays.equals(bytes, 0, BundleFormat.MAGIC.length, BundleFormat.MAGIC, 0,
        BundleFormat.MAGIC.length)) {
      throw new InvalidBundleException(name + ": not a Tandem model bundle (expected the magic "
          + "bytes TANDEMB1 at the start)");
    }
    ByteBuffer header = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN);
    int manifestLength = header.getInt(8);
    int manifestCrc = header.getInt(12);
    if (manifestLength < 0 || manifestLength > BundleFormat.MAX_MANIFEST_BYTES) {
      throw new InvalidBundleException(name + ": corrupted header: manifest length "
          + Integer.toUnsignedString(manifestLength));
    }
    long dataStart = (long) BundleFormat.HEADER_BYTES + manifestLength;
    if (bytes.length < dataStart) {
      throw new InvalidBundleException(name + ": truncated: expected a manifest of "
          + manifestLength + " bytes, found " + (bytes.length - BundleFormat.HEADER_BYTES));
    }
    if ((int) BundleFormat.crc32c(bytes, BundleFormat.HEADER_BYTES, manifestLength)
        != manifestCrc) {
      throw new InvalidBundleException(name + ": corrupted: the manifest's checksum does not "
          + "match");
    }
    BundleManifest manifest;
    try {
      manifest = BundleManifest.parseFrom(
          ByteBuffer.wrap(bytes, BundleFormat.HEADER_BYTES, manifestLength));
    } catch (InvalidProtocolBufferException e) {
      throw new InvalidBundleException(name + ": corrupted manifest: " + e.getMessage(), e);
    }
    if (manifest.getFormatVersion() != BundleFormat.VERSION) {
      throw new InvalidBundleException(name + ": unsupported format version "
          + manifest.getFormatVersion() + "; this server reads version " + BundleFormat.VERSION);
    }
    long dataLength = bytes.length - dataStart;
    if (dataLength < manifest.getDataLength()) {
      throw new InvalidBundleException(name + ": truncated: expected " + manifest.getDataLength()
          + " bytes of tensor data, found " + dataLength);
    }
    if (dataLength > manifest.getDataLength()) {
      throw new InvalidBundleException(name + ": corrupted: " + (dataLength
          - manifest.getDataLength()) + " unexpected bytes after the tensor data");
    }
    Map<String, INDArray> parameters = new LinkedHashMap<>();
    Set<String> modules = new HashSet<>();
    manifest.getSpec().getModulesList().forEach(module -> modules.add(module.getName()));
    for (TensorEntry tensor : manifest.getTensorsList()) {
      parameters.put(tensor.getModule(), tensor(bytes, dataStart, dataLength, tensor, name,
          modules));
    }
    return new ModelBundle(manifest.getSpec(), parameters, manifest.getProvenance(),
        manifest.getVocabulariesList());
  }

  private static INDArray tensor(byte[] bytes, long dataStart, long dataLength,
      TensorEntry tensor, String name, Set<String> modules) throws InvalidBundleException {
    String what = name + ": tensor of module '" + tensor.getModule() + "'";
    if (!modules.contains(tensor.getModule())) {
      throw new InvalidBundleException(what + ": no such module in the bundle's spec");
    }
    if (!tensor.getDtype().equals(BundleFormat.FLOAT32)) {
      throw new InvalidBundleException(what + ": expected dtype " + BundleFormat.FLOAT32
          + ", found '" + tensor.getDtype() + "'");
    }
    long elements = 1;
    for (long dimension : tensor.getShapeList()) {
      elements *= dimension;
    }
    if (tensor.getShapeCount() == 0 || elements * Float.BYTES != tensor.getLength()) {
      throw new InvalidBundleException(what + ": expected " + tensor.getLength() / Float.BYTES
          + " floats from its length, found shape " + tensor.getShapeList());
    }
    if (tensor.getOffset() < 0 || tensor.getOffset() + tensor.getLength() > dataLength) {
      throw new InvalidBundleException(what + ": bytes [" + tensor.getOffset() + ", "
          + (tensor.getOffset() + tensor.getLength()) + ") lie outside the " + dataLength
          + " bytes of tensor data");
    }
    int start = (int) (dataStart + tensor.getOffset());
    int length = (int) tensor.getLength();
    if ((int) BundleFormat.crc32c(bytes, start, length) != tensor.getCrc32C()) {
      throw new InvalidBundleException(what + ": corrupted: its checksum does not match");
    }
    float[] values = new float[length / Float.BYTES];
    ByteBuffer.wrap(bytes, start, length).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer()
        .get(values);
    return Nd4j.create(values, new long[] {values.length}, 'c');
  }
}
