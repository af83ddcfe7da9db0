package tandem.orchestrator.job;

import com.google.protobuf.Timestamp;
import java.time.Instant;

/**
 * Protobuf {@link Timestamp}s to and from {@link Instant}s, to the nanosecond (protobuf-java-util's
 * {@code Timestamps} has no conversion to or from {@code Instant}).
 */
public final class ProtoTime {

  private ProtoTime() {}

  public static Timestamp timestamp(Instant instant) {
    return Timestamp.newBuilder().setSeconds(instant.getEpochSecond())
        .setNanos(instant.getNano()).build();
  }

  public static Instant instant(Timestamp timestamp) {
    return Instant.ofEpochSecond(timestamp.getSeconds(), timestamp.getNanos());
  }
}
