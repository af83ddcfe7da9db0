package tandem.orchestrator.grpc;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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
 * gRPC adapter for saving and loading model bundles: exports write the bundle to a temporary
 * file and stream it from there in chunks with flow control, loads read a file on the server. Bundles are written and read on the blocking
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
    CompletableFuture.supplyAsync(() -> {
      try {
        Path file = Files.createTempFile("tandem-export-", ".tandem");
        try {
          BundleWriter.write(model.model().toBundle(), file);
          return file;
        } catch (IOException | RuntimeException e) {
          Files.deleteIfExists(file);
          throw e;
        }
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }, blocking).whenComplete((file, error) -> {
      if (error != null) {
        LOG.error("export of model {} failed", model.name(), error);
        call.onError(Status.INTERNAL.withDescription("export failed; see the server log")
            .asException());
      } else {
        sender.send(file);
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

  /**
   * Sends a bundle file's chunks while the client keeps up, reading each from the file as it
   * goes (a slow client never holds a whole bundle in the heap); stops when it cancels. Deletes
   * the file when done either way.
   */
  private static final class ChunkSender implements Runnable {
    private final ServerCallStreamObserver<BundleChunk> call;
    private final AtomicBoolean done = new AtomicBoolean();
    private Path file;
    private FileChannel channel;
    private long size;
    private long offset;

    ChunkSender(ServerCallStreamObserver<BundleChunk> call) {
      this.call = call;
      call.setOnCancelHandler(() -> {
        done.set(true);
        release();
      });
      call.setOnReadyHandler(this);
    }

    synchronized void send(Path bundle) {
      this.file = bundle;
      try {
        channel = FileChannel.open(bundle, StandardOpenOption.READ);
        size = channel.size();
      } catch (IOException e) {
        fail(e);
        return;
      }
      if (done.get()) {
        release(); // cancelled while it was written
        return;
      }
      run();
    }

    @Override
    public synchronized void run() {
      if (channel == null) {
        return; // not written yet, or released
      }
      try {
        ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(CHUNK_BYTES, Math.max(1, size)));
        while (!done.get() && call.isReady() && offset < size) {
          buffer.clear();
          buffer.limit((int) Math.min(CHUNK_BYTES, size - offset));
          while (buffer.hasRemaining()) {
            if (channel.read(buffer, offset + buffer.position()) < 0) {
              throw new IOException("the bundle file " + file + " ended early");
            }
          }
          buffer.flip();
          call.onNext(BundleChunk.newBuilder()
              .setData(ByteString.copyFrom(buffer))
              .setOffset(offset)
              .setTotalBytes(size)
              .build());
          offset += buffer.limit();
        }
      } catch (IOException e) {
        fail(e);
        return;
      }
      if (offset >= size && done.compareAndSet(false, true)) {
        release();
        call.onCompleted();
      }
    }

    private void fail(IOException e) {
      LOG.error("export failed reading {}", file, e);
      release();
      if (done.compareAndSet(false, true)) {
        call.onError(Status.INTERNAL.withDescription("export failed; see the server log")
            .asException());
      }
    }

    private synchronized void release() {
      try {
        if (channel != null) {
          channel.close();
        }
        if (file != null) {
          Files.deleteIfExists(file);
        }
      } catch (IOException e) {
        LOG.warn("cannot delete the export file {}", file, e);
      }
      channel = null;
    }
  }
}
