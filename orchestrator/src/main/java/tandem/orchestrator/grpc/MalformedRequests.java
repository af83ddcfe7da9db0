package tandem.orchestrator.grpc;

import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.BindableService;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import java.io.InputStream;

/**
 * Answers requests whose bytes do not parse (random bytes, a truncated message, invalid UTF-8 in
 * a string, nesting past Protobuf's limit, a length past the end) with INVALID_ARGUMENT.
 *
 * <p>grpc-java parses a request before any interceptor or service sees it, and a parse failure
 * closes the call with UNKNOWN "Application error processing RPC" (grpc-java issue #6108 traces
 * the path: {@code ServerCallImpl} throws, {@code ServerImpl} closes with UNKNOWN). So this
 * wraps each method's request marshaller: a message that does not parse becomes a
 * {@link Malformed} value instead of an exception, and the wrapping handler closes the call with
 * INVALID_ARGUMENT and the parser's reason (which never quotes the bytes) instead of passing it
 * on. The schema descriptors stay, so server reflection still describes the services.
 * Stateless.
 */
public final class MalformedRequests {

  private MalformedRequests() {}

  /** {@code service}'s definition with every method guarded. */
  public static ServerServiceDefinition guard(BindableService service) {
    ServerServiceDefinition definition = service.bindService();
    ServiceDescriptor descriptor = definition.getServiceDescriptor();
    ServiceDescriptor.Builder guardedDescriptor = ServiceDescriptor.newBuilder(
        descriptor.getName()).setSchemaDescriptor(descriptor.getSchemaDescriptor());
    java.util.List<ServerMethodDefinition<Object, ?>> methods = new java.util.ArrayList<>();
    for (ServerMethodDefinition<?, ?> method : definition.getMethods()) {
      ServerMethodDefinition<Object, ?> guarded = guard(method);
      methods.add(guarded);
      guardedDescriptor.addMethod(guarded.getMethodDescriptor());
    }
    ServerServiceDefinition.Builder builder =
        ServerServiceDefinition.builder(guardedDescriptor.build());
    methods.forEach(builder::addMethod);
    return builder.build();
  }

  private static <ReqT, RespT> ServerMethodDefinition<Object, RespT> guard(
      ServerMethodDefinition<ReqT, RespT> method) {
    MethodDescriptor<ReqT, RespT> original = method.getMethodDescriptor();
    MethodDescriptor<Object, RespT> guarded = original.toBuilder(
        new TolerantMarshaller<>(original.getRequestMarshaller()),
        original.getResponseMarshaller()).build();
    return ServerMethodDefinition.create(guarded, new GuardedHandler<>(method.getServerCallHandler()));
  }

  /** A request that did not parse, and why. */
  private record Malformed(String reason) {}

  private static final class TolerantMarshaller<ReqT> implements MethodDescriptor.Marshaller<Object> {
    private final MethodDescriptor.Marshaller<ReqT> parser;

    TolerantMarshaller(MethodDescriptor.Marshaller<ReqT> parser) {
      this.parser = parser;
    }

    @Override
    @SuppressWarnings("unchecked")
    public InputStream stream(Object value) {
      return parser.stream((ReqT) value);
    }

    @Override
    public Object parse(InputStream stream) {
      try {
        return parser.parse(stream);
      } catch (RuntimeException e) {
        Throwable cause = e.getCause();
        return new Malformed(cause instanceof InvalidProtocolBufferException invalid
            && invalid.getMessage() != null ? invalid.getMessage() : "the bytes do not parse");
      }
    }
  }

  private static final class GuardedHandler<ReqT, RespT> implements ServerCallHandler<Object, RespT> {
    private final ServerCallHandler<ReqT, RespT> handler;

    GuardedHandler(ServerCallHandler<ReqT, RespT> handler) {
      this.handler = handler;
    }

    @Override
    @SuppressWarnings("unchecked")
    public ServerCall.Listener<Object> startCall(ServerCall<Object, RespT> call, Metadata headers) {
      ServerCall.Listener<ReqT> delegate =
          handler.startCall((ServerCall<ReqT, RespT>) (ServerCall<?, RespT>) call, headers);
      return new ServerCall.Listener<>() {
        /** Once refused, the service never hears of the call again but for its end. */
        private boolean refused;

        @Override
        public void onMessage(Object message) {
          if (refused) {
            return;
          }
          if (message instanceof Malformed malformed) {
            refused = true;
            call.close(Status.INVALID_ARGUMENT.withDescription("request: not a valid "
                + call.getMethodDescriptor().getBareMethodName() + " request: "
                + malformed.reason()), new Metadata());
            return;
          }
          delegate.onMessage((ReqT) message);
        }

        @Override
        public void onHalfClose() {
          if (!refused) {
            delegate.onHalfClose();
          }
        }

        @Override
        public void onReady() {
          if (!refused) {
            delegate.onReady();
          }
        }

        @Override
        public void onCancel() {
          delegate.onCancel();
        }

        @Override
        public void onComplete() {
          delegate.onComplete();
        }
      };
    }
  }
}
