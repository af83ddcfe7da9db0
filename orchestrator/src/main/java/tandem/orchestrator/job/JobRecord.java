package tandem.orchestrator.job;

import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.api.v1.JobSpec;

/**
 * What the server keeps of a job: its spec, its event log (which also gives its status), and,
 * once it succeeded, the trained parameters of every module. Thread-safe.
 */
public final class JobRecord {

  private final String jobId;
  private final JobSpec spec;
  private final EventLog events;
  private final AtomicReference<Map<String, INDArray>> trainedParameters = new AtomicReference<>();

  public JobRecord(String jobId, JobSpec spec, EventLog events) {
    this.jobId = jobId;
    this.spec = spec;
    this.events = events;
  }

  public String jobId() {
    return jobId;
  }

  public JobSpec spec() {
    return spec;
  }

  public EventLog events() {
    return events;
  }

  /** Every module's final parameters (copies), or {@code null} until the job has succeeded. */
  public Map<String, INDArray> trainedParameters() {
    return trainedParameters.get();
  }

  void setTrainedParameters(Map<String, INDArray> parameters) {
    trainedParameters.set(Map.copyOf(parameters));
  }
}
