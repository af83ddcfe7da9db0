package tandem.worker;

import java.util.List;
import java.util.OptionalInt;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which device each worker actor computes on. On a backend with devices (CUDA) worker {@code i}
 * takes the {@code i}-th entry of {@code tandem.worker.devices}, or device {@code i} modulo the
 * device count when the list is empty; on the CPU backend nothing is bound. The binding is per
 * thread in ND4J, so it holds only because every worker actor runs on a pinned thread of its own
 * ({@code tandem.worker.compute-dispatcher}). Stateless.
 */
public final class DeviceBinding {

  private static final Logger LOG = LoggerFactory.getLogger(DeviceBinding.class);

  private DeviceBinding() {}

  /** The device of worker {@code index} on this node, or empty when the backend has none. */
  public static OptionalInt deviceFor(int index, List<Integer> configured) {
    if (!backendHasDevices()) {
      return OptionalInt.empty();
    }
    if (!configured.isEmpty()) {
      return OptionalInt.of(configured.get(index % configured.size()));
    }
    return OptionalInt.of(index % Math.max(1, Nd4j.getAffinityManager().getNumberOfDevices()));
  }

  /** Binds the calling thread (a worker's pinned thread) to {@code device}, if any. */
  public static void bindCurrentThread(String worker, OptionalInt device) {
    if (device.isEmpty()) {
      return;
    }
    int count = Nd4j.getAffinityManager().getNumberOfDevices();
    if (device.getAsInt() < 0 || device.getAsInt() >= count) {
      throw new IllegalArgumentException("expected a device in [0, " + count + ") for worker "
          + worker + ", found " + device.getAsInt());
    }
    // The documented per-thread binding of ND4J's CUDA backend: arrays this thread creates from
    // now on live on that device, and its ops run there.
    Nd4j.getAffinityManager().unsafeSetDevice(device.getAsInt());
    LOG.info("worker {} bound to device {} on thread {}", worker, device.getAsInt(),
        Thread.currentThread().getName());
  }

  /** Whether ND4J runs on a backend with devices of its own (CUDA), not the CPU. */
  public static boolean backendHasDevices() {
    return !Nd4j.getEnvironment().isCPU();
  }
}
