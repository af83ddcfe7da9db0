package tandem.worker.node;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.worker.DeviceBinding;

/**
 * Reads what {@link WireWriter} wrote, trusting no length or count: each is checked against the
 * bytes left before anything is allocated for it, so a truncated message or a lying length is an
 * {@link IllegalArgumentException} naming the value, its position and what remains, never a huge
 * allocation or an {@link OutOfMemoryError}. Not thread-safe: one per message.
 */
final class WireReader {

  /** The fewest bytes a string takes: its length. */
  private static final int MIN_STRING_BYTES = Integer.BYTES;
  /** The fewest bytes a named tensor takes: the name's length and the float count. */
  private static final int MIN_TENSOR_BYTES = Integer.BYTES + Long.BYTES;

  private final ByteBuffer buffer;

  WireReader(byte[] bytes) {
    this.buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
  }

  byte getByte() {
    need(1, "a byte");
    return buffer.get();
  }

  long getLong() {
    need(Long.BYTES, "a long");
    return buffer.getLong();
  }

  int getInt() {
    need(Integer.BYTES, "an int");
    return buffer.getInt();
  }

  double getDouble() {
    need(Double.BYTES, "a double");
    return buffer.getDouble();
  }

  String getString() {
    return new String(getBytes("a string"), StandardCharsets.UTF_8);
  }

  byte[] getBytes() {
    return getBytes("a byte array");
  }

  List<String> getStrings() {
    int count = getCount("strings", MIN_STRING_BYTES);
    List<String> values = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      values.add(getString());
    }
    return values;
  }

  /**
   * A count of entries that each take at least {@code minBytes}; a count the rest of the message
   * cannot hold is refused before a collection is sized by it.
   */
  int getCount(String what, int minBytes) {
    int at = buffer.position();
    int count = getInt();
    if (count < 0 || count > buffer.remaining() / minBytes) {
      throw new IllegalArgumentException("a count of " + count + " " + what + " at byte " + at
          + ", but the " + buffer.remaining() + " bytes left hold at most "
          + buffer.remaining() / minBytes);
    }
    return count;
  }

  /** A flat float32 array, copied once from the message into ND4J's native buffer. */
  INDArray getTensor() {
    if (DeviceBinding.backendHasDevices()) {
      return Nd4j.createFromArray(getFloats());
    }
    int length = floatCount();
    INDArray array = Nd4j.createUninitialized(DataType.FLOAT, length);
    ByteBuffer slice = buffer.slice().order(ByteOrder.LITTLE_ENDIAN);
    slice.limit(length * Float.BYTES);
    array.data().asNioFloat().put(slice.asFloatBuffer());
    buffer.position(buffer.position() + length * Float.BYTES);
    return array;
  }

  float[] getFloats() {
    float[] values = new float[floatCount()];
    buffer.asFloatBuffer().get(values);
    buffer.position(buffer.position() + values.length * Float.BYTES);
    return values;
  }

  Map<String, INDArray> getTensors() {
    int count = getCount("tensors", MIN_TENSOR_BYTES);
    Map<String, INDArray> tensors = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      tensors.put(getString(), getTensor());
    }
    return tensors;
  }

  /** Ends the message: bytes after its last value mean writer and reader disagree on the layout. */
  void finish() {
    if (buffer.hasRemaining()) {
      throw new IllegalArgumentException("the message to end at byte " + buffer.position()
          + ", but " + buffer.remaining() + " more bytes follow");
    }
  }

  private byte[] getBytes(String what) {
    int at = buffer.position();
    int length = getInt();
    if (length < 0 || length > buffer.remaining()) {
      throw new IllegalArgumentException(what + " of " + length + " bytes at byte " + at
          + ", but " + buffer.remaining() + " bytes are left");
    }
    byte[] bytes = new byte[length];
    buffer.get(bytes);
    return bytes;
  }

  private int floatCount() {
    int at = buffer.position();
    long length = getLong();
    if (length < 0 || length > buffer.remaining() / Float.BYTES) {
      throw new IllegalArgumentException("a tensor of " + length + " floats at byte " + at
          + ", but the " + buffer.remaining() + " bytes left hold at most "
          + buffer.remaining() / Float.BYTES);
    }
    return (int) length;
  }

  private void need(int bytes, String what) {
    if (buffer.remaining() < bytes) {
      throw new IllegalArgumentException(what + " at byte " + buffer.position() + ", but "
          + buffer.remaining() + " bytes are left");
    }
  }
}
