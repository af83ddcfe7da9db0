package tandem.model.bundle;

import java.nio.charset.StandardCharsets;

/**
 * The byte layout of a bundle file (see {@code tandem/v1/bundle.proto}): a 16-byte header
 * (magic, manifest length, manifest CRC32C), the manifest, then the tensors. Constants only.
 */
final class BundleFormat {

  static final byte[] MAGIC = "TANDEMB1".getBytes(StandardCharsets.US_ASCII);
  static final int HEADER_BYTES = 16;
  static final int VERSION = 1;
  static final String FLOAT32 = "float32";
  /** A manifest larger than this is taken for corruption rather than allocated. */
  static final int MAX_MANIFEST_BYTES = 256 << 20;

  private BundleFormat() {}

  static long crc32c(byte[] bytes, int offset, int length) {
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(bytes, offset, length);
    return crc.getValue();
  }
}
