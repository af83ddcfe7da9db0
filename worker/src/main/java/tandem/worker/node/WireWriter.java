package tandem.worker.node;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.worker.DeviceBinding;

/**
 * Writes the worker protocol's binary form: little-endian numbers, length-prefixed UTF-8 strings,
 * and tensors as a float count followed by the raw little-endian float32 buffer. Grows as
 * needed. Not thread-safe: one per message.
 */
final class WireWriter {

  private ByteBuffer buffer;

  WireWriter(int expectedBytes) {
    buffer = ByteBuffer.allocate(Math.max(64, expectedBytes)).order(ByteOrder.LITTLE_ENDIAN);
  }

  WireWriter putByte(byte value) {
    ensure(1);
    buffer.put(value);
    return this;
  }

  WireWriter putLong(long value) {
    ensure(Long.BYTES);
    buffer.putLong(value);
    return this;
  }

  WireWriter putInt(int value) {
    ensure(Integer.BYTES);
    buffer.putInt(value);
    return this;
  }

  WireWriter putDouble(double value) {
    ensure(Double.BYTES);
    buffer.putDouble(value);
    return this;
  }

  WireWriter putString(String value) {
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    putBytes(bytes);
    return this;
  }

  WireWriter putBytes(byte[] bytes) {
    putInt(bytes.length);
    ensure(bytes.length);
    buffer.put(bytes);
    return this;
  }

  WireWriter putStrings(List<String> values) {
    putInt(values.size());
    values.forEach(this::putString);
    return this;
  }

  /** A flat float tensor: its length, then its floats (other types are converted). */
  WireWriter putTensor(INDArray array) {
    INDArray floats = array.dataType() == DataType.FLOAT ? array : array.castTo(DataType.FLOAT);
    if (!floats.isVector() && !floats.isScalar() || floats.elementWiseStride() != 1) {
      floats = floats.ravel().dup();
    }
    if (DeviceBinding.backendHasDevices()) {
      // A device array's host copy may be stale; ND4J's own read synchronises it.
      return putFloats(floats.toFloatVector());
    }
    long length = floats.length();
    putLong(length);
    ensure(length * Float.BYTES);
    // Straight from ND4J's native buffer into ours, in our byte order.
    java.nio.FloatBuffer source = floats.data().asNioFloat();
    source.position((int) floats.offset()).limit((int) (floats.offset() + length));
    buffer.asFloatBuffer().put(source);
    buffer.position(buffer.position() + (int) (length * Float.BYTES));
    return this;
  }

  WireWriter putFloats(float[] values) {
    putLong(values.length);
    ensure((long) values.length * Float.BYTES);
    buffer.asFloatBuffer().put(values);
    buffer.position(buffer.position() + values.length * Float.BYTES);
    return this;
  }

  WireWriter putTensors(Map<String, INDArray> tensors) {
    putInt(tensors.size());
    tensors.forEach((name, tensor) -> {
      putString(name);
      putTensor(tensor);
    });
    return this;
  }

  byte[] toByteArray() {
    byte[] bytes = new byte[buffer.position()];
    buffer.flip();
    buffer.get(bytes);
    return bytes;
  }

  private void ensure(long more) {
    if (buffer.remaining() >= more) {
      return;
    }
    long needed = buffer.position() + more;
    if (needed > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException("expected a message under 2 GiB, found " + needed
          + " bytes");
    }
    int capacity = (int) Math.min(Integer.MAX_VALUE - 16, Math.max(needed, 2L * buffer.capacity()));
    ByteBuffer grown = ByteBuffer.allocate(capacity).order(ByteOrder.LITTLE_ENDIAN);
    buffer.flip();
    grown.put(buffer);
    buffer = grown;
  }
}
