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

/** Reads what {@link WireWriter} wrote. Not thread-safe: one per message. */
final class WireReader {

  private final ByteBuffer buffer;

  WireReader(byte[] bytes) {
    this.buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
  }

  long getLong() {
    return buffer.getLong();
  }

  int getInt() {
    return buffer.getInt();
  }

  double getDouble() {
    return buffer.getDouble();
  }

  String getString() {
    return new String(getBytes(), StandardCharsets.UTF_8);
  }

  byte[] getBytes() {
    byte[] bytes = new byte[buffer.getInt()];
    buffer.get(bytes);
    return bytes;
  }

  List<String> getStrings() {
    int count = buffer.getInt();
    List<String> values = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      values.add(getString());
    }
    return values;
  }

  /** A flat float32 array, copied once from the message into ND4J's native buffer. */
  INDArray getTensor() {
    if (DeviceBinding.backendHasDevices()) {
      return Nd4j.createFromArray(getFloats());
    }
    int length = checkedLength(buffer.getLong());
    INDArray array = Nd4j.createUninitialized(DataType.FLOAT, length);
    ByteBuffer slice = buffer.slice().order(ByteOrder.LITTLE_ENDIAN);
    slice.limit(length * Float.BYTES);
    array.data().asNioFloat().put(slice.asFloatBuffer());
    buffer.position(buffer.position() + length * Float.BYTES);
    return array;
  }

  float[] getFloats() {
    float[] values = new float[checkedLength(buffer.getLong())];
    buffer.asFloatBuffer().get(values);
    buffer.position(buffer.position() + values.length * Float.BYTES);
    return values;
  }

  Map<String, INDArray> getTensors() {
    int count = buffer.getInt();
    Map<String, INDArray> tensors = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      tensors.put(getString(), getTensor());
    }
    return tensors;
  }

  private int checkedLength(long length) {
    if (length < 0 || length * Float.BYTES > buffer.remaining()) {
      throw new IllegalArgumentException("expected at most " + buffer.remaining() / Float.BYTES
          + " floats in the rest of the message, found a length of " + length);
    }
    return (int) length;
  }
}
