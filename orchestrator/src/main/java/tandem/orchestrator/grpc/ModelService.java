package tandem.orchestrator.grpc;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tandem.api.v1.BundleChunk;
import tandem.api.v1.ExportModelRequest;
import tandem.api.v1.LoadModelRequest;
import tandem.api.v1.ModelInfo;
import tandem.api.v1.ModelServiceGrpc;
import tandem.model.bundle.BundleWriter;
import tandem.model.bundle.InvalidBundleException;
import tandem.orchestrator.serving.ModelRegistry;
import tandem.orchestrator.serving.ServedModel;

/**
 * gRPC adapter for saving and loading model bundles: exports stream a bundle in chunks with flow
 * control, loads read a file on the server. Bundles are written and read on the blocking
 * executor, never on a gRPC thread. Thread-safe.
 */
public final class ModelService extends ModelServiceGrpc.ModelServiceImplBase {

  private static final Logger LOG = LoggerFactory.getLogger(ModelService.class);

  /** Bytes per chunk: well under gRPC's default 4 MiB message limit. */
  static final int CHUNK_BYTES = 1 << 20;

  private final ModelRegistry models;
  private final Executor blocking;

  private final ModelFiles files;
  private final int nameChars;

  /**
   * @param blocking runs bundle serialisation and file reads
   * @param modelDir the only directory LoadModel reads; null: LoadModel is refused
   * @param maxBundleBytes the largest bundle LoadModel reads
   * @param nameChars the longest model name
   */
  public ModelService(ModelRegistry models, Executor blocking, Path modelDir,
      long maxBundleBytes, int nameChars) {
    this.models = models;
    this.blocking = blocking;
    this.files = new ModelFiles(modelDir, maxBundleBytes);
    this.nameChars = nameChars;
  }

  @Override
  public void exportModel(ExportModelRequest request, StreamObserver<BundleChunk> response) {
    ServedModel model;
    try {
      model = InferenceService.lookUp(models, request.getModel(), request.getJobId());
    } catch (InferenceService.RequestException e) {
      response.onError(e.status().asException());
      return;
    }
    ServerCallStreamObserver<BundleChunk> call = (ServerCallStreamObserver<BundleChunk>) response;
    // Handlers may only be set before this method returns.
    ChunkSender sender = new ChunkSender(call);
    CompletableFuture.supplyAsync(() -> BundleWriter.toBytes(model.model().toBundle()), blocking)
        .whenComplete((bytes, error) -> {
          if (error != null) {
            LOG.error("export of model {} failed", model.name(), error);
            call.onError(Status.INTERNAL.withDescription("export failed; see the server log")
                .asException());
          } else {
            sender.send(bytes);
          }
        });
  }

  @Override
  public void loadModel(LoadModelRequest request, StreamObserver<ModelInfo> response) {
    if (request.getPath().isEmpty()) {
      response.onError(Status.INVALID_ARGUMENT
          .withDescription("path: expected the bundle file to load").asException());
      return;
    }
    Path file;
    try {
      RequestFields.checkName("name", request.getName(), nameChars);
      file = files.resolve(request.getPath());
      if (request.getName().isEmpty()) {
        RequestFields.checkName("path", ModelRegistry.defaultName(file), nameChars);
      }
    } catch (RequestFields.RequestException e) {
      response.onError(e.status().asException());
      return;
    }
    CompletableFuture.supplyAsync(() -> {
      try {
        return models.load(file, request.getName()).info();
      } catch (InvalidBundleException e) {
        throw new java.util.concurrent.CompletionException(e);
      }
    }, blocking).whenComplete((info, error) -> {
      if (error == null) {
        response.onNext(info);
        response.onCompleted();
        return;
      }
      Throwable cause = error.getCause() == null ? error : error.getCause();
      if (cause instanceof InvalidBundleException) {
        LOG.warn("bundle not loaded: {}", cause.getMessage());
        response.onError(Status.INVALID_ARGUMENT.withDescription(
            tandem.orchestrator.admission.Names.cap(cause.getMessage())).asException());
      } else if (cause instanceof IllegalStateException) {
        response.onError(Status.ALREADY_EXISTS.withDescription(
            tandem.orchestrator.admission.Names.cap("name: " + cause.getMessage())).asException());
      } else {
        LOG.error("loading bundle {} failed", request.getPath(), cause);
        response.onError(Status.INTERNAL.withDescription("load failed; see the server log")
            .asException());
      }
    });
  }

  /** Sends a bundle's chunks while the client keeps up; stops when it cancels. */
  private static final class ChunkSender implements Runnable {
    private final ServerCallStreamObserver<BundleChunk> call;
    private final AtomicBoolean done = new AtomicBoolean();
    private byte[] bytes;
    private int offset;

    ChunkSender(ServerCallStreamObserver<BundleChunk> call) {
      this.call = call;
      call.setOnCancelHandler(() -> done.set(true));
      call.setOnReadyHandler(this);
    }

    synchronized void send(byte[] bundle) {
      this.bytes = bundle;
      run();
    }

    @Override
    public synchronized void run() {
      if (bytes == null) {
        return; // not serialised yet
      }
      while (!done.get() && call.isReady() && offset < bytes.length) {
        int length = Math.min(CHUNK_BYTES, bytes.length - offset);
        call.onNext(BundleChunk.newBuilder()
            .setData(ByteString.copyFrom(bytes, offset, length))
            .setOffset(offset)
            .setTotalBytes(bytes.length)
            .build());
        offset += length;
      }
      if (offset >= bytes.length && done.compareAndSet(false, true)) {
        call.onCompleted();
      }
    }
  }
}
