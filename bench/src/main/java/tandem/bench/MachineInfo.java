package tandem.bench;

import com.google.gson.JsonObject;
import java.util.Properties;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What the figures were measured on: cores, JVM, ND4J backend and BLAS, and the OpenMP thread
 * setting (steps are 2-4x slower with 2 threads per op on 2 cores; see DESIGN.md). Immutable.
 */
public record MachineInfo(int cores, String javaVersion, String javaVm, String os,
    String nd4jBackend, String blasVendor, String ompNumThreads, long maxHeapBytes) {

  /** This JVM's machine; initialises ND4J if nothing did yet. */
  public static MachineInfo current() {
    Properties environment = Nd4j.getExecutioner().getEnvironmentInformation();
    String omp = System.getenv("OMP_NUM_THREADS");
    return new MachineInfo(
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"),
        System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"),
        System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
            + System.getProperty("os.arch"),
        Nd4j.getBackend().getClass().getName(),
        String.valueOf(environment.getOrDefault("blas.vendor", "unknown")),
        omp == null ? "unset" : omp,
        Runtime.getRuntime().maxMemory());
  }

  public JsonObject toJson() {
    JsonObject json = new JsonObject();
    json.addProperty("cores", cores);
    json.addProperty("javaVersion", javaVersion);
    json.addProperty("javaVm", javaVm);
    json.addProperty("os", os);
    json.addProperty("nd4jBackend", nd4jBackend);
    json.addProperty("blasVendor", blasVendor);
    json.addProperty("ompNumThreads", ompNumThreads);
    json.addProperty("maxHeapBytes", maxHeapBytes);
    return json;
  }

  /** One line for the human report. */
  public String describe() {
    return cores + " cores, Java " + javaVersion + ", " + nd4jBackend.replaceAll(".*\\.", "")
        + " (" + blasVendor + "), OMP_NUM_THREADS=" + ompNumThreads;
  }
}
