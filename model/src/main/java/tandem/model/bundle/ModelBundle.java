package tandem.model.bundle;

import com.google.protobuf.Timestamp;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.api.v1.JobSpec;
import tandem.api.v1.Provenance;
import tandem.api.v1.VocabularyEntry;

/**
 * A trained model as it travels: the job spec, every module's flat parameters (shared modules
 * once, then the heads), the provenance and the vocabularies of text fields.
 * {@link BundleWriter} stores it as one file, {@link BundleReader} reads it back with every
 * checksum and size checked. Immutable by contract: the parameter buffers are never written.
 *
 * @param parameters flat float buffers by module name, in spec order
 * @param vocabularies tokens of each text field; empty until the model library's vocabularies
 *     are part of trained models
 */
public record ModelBundle(JobSpec spec, Map<String, INDArray> parameters, Provenance provenance,
    List<VocabularyEntry> vocabularies) {

  public ModelBundle {
    parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
    vocabularies = List.copyOf(vocabularies);
  }

  /**
   * The provenance of a model trained by job {@code jobId} of {@code spec} in {@code steps}
   * steps, stamped with this code version, the ND4J backend and the time now.
   *
   * @param dataSets each task's training data set name
   */
  public static Provenance provenance(String jobId, JobSpec spec, long steps,
      Map<String, String> dataSets) {
    Instant now = Instant.now();
    return Provenance.newBuilder()
        .setJobId(jobId)
        .setSeed(spec.getSeed())
        .setCodeVersion(codeVersion())
        .setBackend(backend())
        .setCreatedAt(Timestamp.newBuilder().setSeconds(now.getEpochSecond())
            .setNanos(now.getNano()))
        .putAllDataSets(dataSets)
        .setSteps(steps)
        .build();
  }

  /** The Tandem version of this build (from the jar manifest), or {@code dev} in a checkout. */
  public static String codeVersion() {
    String version = ModelBundle.class.getPackage().getImplementationVersion();
    return version == null ? "0.1.0-SNAPSHOT (dev)" : version;
  }

  private static String backend() {
    Object blas = Nd4j.getExecutioner().getEnvironmentInformation().get("blas.vendor");
    return Nd4j.getBackend().getClass().getSimpleName() + (blas == null ? "" : " (" + blas + ")");
  }
}
