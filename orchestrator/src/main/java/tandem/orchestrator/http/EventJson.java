package tandem.orchestrator.http;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import tandem.api.v1.StepCompleted;
import tandem.api.v1.TrainingEvent;

/**
 * Training events as the dashboard's JSON: {@code seq}, {@code time} (epoch milliseconds) and
 * {@code kind} (the event's field name in {@code TrainingEvent}, e.g. {@code stepCompleted}) on
 * every event. Step events, which are nearly all of them, are written flat by hand-picked
 * fields with times in seconds; the rare others carry their message in Protobuf's JSON mapping
 * under {@code body}. Protobuf's printer costs tens of microseconds an event, which at
 * thousands of steps a second would be CPU taken from training. Thread-safe.
 */
final class EventJson {

  private static final JsonFactory JSON = JsonFactory.builder()
      .enable(StreamWriteFeature.USE_FAST_DOUBLE_WRITER).build();
  private static final JsonFormat.Printer PRINTER =
      JsonFormat.printer().omittingInsignificantWhitespace();

  private EventJson() {}

  static String write(TrainingEvent event) {
    return json(160, json -> writeEvent(json, event));
  }

  /** The events as one JSON array, in their order. */
  static String writeAll(List<TrainingEvent> events) {
    return json(160 * events.size() + 2, json -> {
      json.writeStartArray();
      for (TrainingEvent event : events) {
        writeEvent(json, event);
      }
      json.writeEndArray();
    });
  }

  /** What a generator writes; its I/O errors cannot happen on a byte array. */
  interface Writing {
    void to(JsonGenerator json) throws IOException;
  }

  /**
   * The JSON {@code writing} writes, as UTF-8 bytes (Jackson's fastest path, rather than a
   * {@link java.io.StringWriter}'s synchronized {@code StringBuffer}) made a string.
   */
  static String json(int sizeHint, Writing writing) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(sizeHint);
    try (JsonGenerator json = JSON.createGenerator(out, JsonEncoding.UTF8)) {
      writing.to(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  static void writeEvent(JsonGenerator json, TrainingEvent event) throws IOException {
    try {
      json.writeStartObject();
      json.writeNumberField("seq", event.getSequence());
      json.writeNumberField("time", (long) JobHistory.millis(event));
      if (event.hasStepCompleted()) {
        json.writeStringField("kind", "stepCompleted");
        writeStep(json, event.getStepCompleted());
      } else {
        Message body = body(event);
        json.writeStringField("kind", kind(event));
        if (body != null) {
          json.writeFieldName("body");
          json.writeRawValue(PRINTER.print(body));
        }
      }
      json.writeEndObject();
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("cannot print event " + event.getSequence(), e);
    }
  }

  /** The field name of the event's kind in Protobuf's JSON mapping (lower camel case). */
  static String kind(TrainingEvent event) {
    if (event.getKindCase() == TrainingEvent.KindCase.KIND_NOT_SET) {
      return "unknown";
    }
    return TrainingEvent.getDescriptor()
        .findFieldByNumber(event.getKindCase().getNumber()).getJsonName();
  }

  private static Message body(TrainingEvent event) {
    if (event.getKindCase() == TrainingEvent.KindCase.KIND_NOT_SET) {
      return null;
    }
    return (Message) event.getField(TrainingEvent.getDescriptor()
        .findFieldByNumber(event.getKindCase().getNumber()));
  }

  private static void writeStep(JsonGenerator json, StepCompleted step) throws IOException {
    json.writeNumberField("step", step.getStep());
    json.writeStringField("task", step.getTask());
    json.writeNumberField("loss", step.getLoss());
    json.writeNumberField("examples", step.getExamples());
    json.writeStringField("worker", step.getWorker());
    json.writeNumberField("staleness", step.getStaleness());
    json.writeNumberField("compute", seconds(step.getComputeTime()));
    json.writeNumberField("queue", seconds(step.getQueueTime()));
    if (step.getGradientDropped()) {
      json.writeBooleanField("dropped", true);
    }
  }

  static double seconds(com.google.protobuf.Duration duration) {
    return duration.getSeconds() + duration.getNanos() / 1e9;
  }

  /** A Protobuf message in Protobuf's JSON mapping. */
  static String print(Message message) {
    try {
      return PRINTER.print(message);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("cannot print " + message.getDescriptorForType().getName(), e);
    }
  }
}
