package tandem.bench;

import com.google.gson.JsonObject;
import java.util.Properties;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What the figures were measured on: cores, JVM, ND4J backend and BLAS, OpenBLAS's kernels and
 * the OpenMP thread setting (steps are 2-4x slower with 2 threads per op on 2 cores; see
 * DESIGN.md). The kernels: {@code OPENBLAS_CORETYPE} when set (some workplaces set it, e.g. to
 * Haswell), else OpenBLAS's own choice for the CPU; on the AMD EPYC machines here the step's
 * matrix products take half as long with its own choice (AVX-512) as with Haswell's (AVX2).
 * And what a kernel entry costs a thread ({@link KernelEntryProbe}, measured once per JVM):
 * where it is several times a bare-metal machine's, anything that wakes beside training costs
 * training more than its own CPU. Immutable.
 */
public record MachineInfo(int cores, String javaVersion, String javaVm, String os,
    String nd4jBackend, String blasVendor, String blasKernels, String ompNumThreads,
    long maxHeapBytes, KernelEntryProbe.Cost kernelEntry) {

  /** Measured on first use, so that a bench's report shows the same figure throughout. */
  private static final class Probe {
    static final KernelEntryProbe.Cost COST = KernelEntryProbe.measure();
  }

  /** This JVM's machine; initialises ND4J if nothing did yet. */
  public static MachineInfo current() {
    Properties environment = Nd4j.getExecutioner().getEnvironmentInformation();
    String omp = System.getenv("OMP_NUM_THREADS");
    String core = System.getenv("OPENBLAS_CORETYPE");
    return new MachineInfo(
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"),
        System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"),
        System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
            + System.getProperty("os.arch"),
        Nd4j.getBackend().getClass().getName(),
        String.valueOf(environment.getOrDefault("blas.vendor", "unknown")),
        core == null || core.isBlank() ? "OpenBLAS's own choice" : core + " (OPENBLAS_CORETYPE)",
        omp == null ? "unset" : omp,
        Runtime.getRuntime().maxMemory(),
        Probe.COST);
  }

  public JsonObject toJson() {
    JsonObject json = new JsonObject();
    json.addProperty("cores", cores);
    json.addProperty("javaVersion", javaVersion);
    json.addProperty("javaVm", javaVm);
    json.addProperty("os", os);
    json.addProperty("nd4jBackend", nd4jBackend);
    json.addProperty("blasVendor", blasVendor);
    json.addProperty("blasKernels", blasKernels);
    json.addProperty("ompNumThreads", ompNumThreads);
    json.addProperty("maxHeapBytes", maxHeapBytes);
    json.addProperty("kernelEntryMicros", kernelEntry.callMicros());
    json.addProperty("refillAfterKernelEntryMicros", kernelEntry.refillMicros());
    return json;
  }

  /** One line for the human report. */
  public String describe() {
    return cores + " cores, Java " + javaVersion + ", " + nd4jBackend.replaceAll(".*\\.", "")
        + " (" + blasVendor + ", kernels: " + blasKernels + "), OMP_NUM_THREADS=" + ompNumThreads
        + "; " + kernelEntry.describe();
  }
}
