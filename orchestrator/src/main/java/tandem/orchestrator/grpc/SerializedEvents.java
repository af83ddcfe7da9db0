package tandem.orchestrator.grpc;

import io.grpc.MethodDescriptor;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.TrainingServiceGrpc;

/**
 * {@code StreamEvents} and {@code StreamEventBatches} with responses that are already
 * serialized: the bytes on the wire are the same, but each event of a log is serialized once,
 * when it is appended, and the bytes the log holds ({@link
 * tandem.orchestrator.job.EventLog.Slice#serialized}) go to every subscriber, instead of
 * grpc-java's marshaller serializing the message again for each.
 * Stateless.
 */
final class SerializedEvents {

  /** Bytes out as they are; bytes in (a client using this descriptor) as they came. */
  static final MethodDescriptor.Marshaller<byte[]> MARSHALLER =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
          return new BytesStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
          try {
            return stream.readAllBytes();
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      };

  private SerializedEvents() {}

  /**
   * The bytes as grpc-java's framer likes them: of known length, and drained straight into its
   * buffer. A plain stream is copied through an 8 KiB buffer allocated per message (seen in a
   * profile of the soak benchmark's server).
   */
  private static final class BytesStream extends ByteArrayInputStream
      implements io.grpc.Drainable, io.grpc.KnownLength {

    BytesStream(byte[] bytes) {
      super(bytes);
    }

    @Override
    public synchronized int drainTo(java.io.OutputStream target) throws IOException {
      int length = count - pos;
      target.write(buf, pos, length);
      pos = count;
      return length;
    }
  }

  /**
   * {@code generated}, the service's own definition, with its {@code StreamEvents} method served
   * by {@code events} and {@code StreamEventBatches} by {@code batches}, both with serialized
   * responses. The schema descriptors stay, so server reflection still describes the methods as
   * returning {@code TrainingEvent}s and {@code TrainingEventBatch}es.
   */
  static ServerServiceDefinition withSerializedStreams(ServerServiceDefinition generated,
      ServerCallHandler<StreamEventsRequest, byte[]> events,
      ServerCallHandler<StreamEventsRequest, byte[]> batches) {
    Map<String, ServerMethodDefinition<?, ?>> served = Map.of(
        TrainingServiceGrpc.getStreamEventsMethod().getFullMethodName(),
        serialized(TrainingServiceGrpc.getStreamEventsMethod(), events),
        TrainingServiceGrpc.getStreamEventBatchesMethod().getFullMethodName(),
        serialized(TrainingServiceGrpc.getStreamEventBatchesMethod(), batches));
    ServiceDescriptor descriptor = generated.getServiceDescriptor();
    ServiceDescriptor.Builder replaced = ServiceDescriptor.newBuilder(descriptor.getName())
        .setSchemaDescriptor(descriptor.getSchemaDescriptor());
    List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
    for (ServerMethodDefinition<?, ?> method : generated.getMethods()) {
      ServerMethodDefinition<?, ?> kept = served.getOrDefault(
          method.getMethodDescriptor().getFullMethodName(), method);
      methods.add(kept);
      replaced.addMethod(kept.getMethodDescriptor());
    }
    ServerServiceDefinition.Builder builder = ServerServiceDefinition.builder(replaced.build());
    methods.forEach(builder::addMethod);
    return builder.build();
  }

  private static ServerMethodDefinition<StreamEventsRequest, byte[]> serialized(
      MethodDescriptor<StreamEventsRequest, ?> original,
      ServerCallHandler<StreamEventsRequest, byte[]> handler) {
    return ServerMethodDefinition.create(
        original.toBuilder(original.getRequestMarshaller(), MARSHALLER).build(), handler);
  }
}
