package tandem.orchestrator.serving;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tandem.api.v1.DataSpec;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.JobStatus;
import tandem.api.v1.TaskSpec;
import tandem.model.bundle.BundleReader;
import tandem.model.bundle.InvalidBundleException;
import tandem.model.bundle.ModelBundle;
import tandem.model.bundle.TrainedModel;
import tandem.orchestrator.job.JobRecord;
import tandem.orchestrator.job.JobStore;

/**
 * The models a server answers with: bundles loaded from files, by name, and every succeeded job
 * of its {@link JobStore}, by job id (made servable on first use). With a job directory, a
 * succeeded job the store does not hold (the server restarted, or the job was evicted) is served
 * from its final checkpoint, read on first use. A bundle that fails to load leaves the registry
 * as it was. Thread-safe.
 */
public final class ModelRegistry {

  private static final Logger LOG = LoggerFactory.getLogger(ModelRegistry.class);

  private final JobStore jobs;
  private final Path jobDir;
  private final ConcurrentHashMap<String, ServedModel> bundles = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, ServedModel> jobModels = new ConcurrentHashMap<>();

  public ModelRegistry(JobStore jobs) {
    this(jobs, null);
  }

  /** @param jobDir the job directory; null: only jobs of the store are served */
  public ModelRegistry(JobStore jobs, Path jobDir) {
    this.jobs = jobs;
    this.jobDir = jobDir;
  }

  /**
   * Loads the bundle in {@code file} and serves it as {@code name} (empty: the file name without
   * its extension). Throws {@link InvalidBundleException} for a bad file and
   * {@link IllegalStateException} when the name is taken; either way nothing changes.
   */
  public ServedModel load(Path file, String name) throws InvalidBundleException {
    String modelName = name.isEmpty() ? defaultName(file) : name;
    if (bundles.containsKey(modelName)) {
      throw new IllegalStateException("a model named '" + modelName + "' is already served");
    }
    ModelBundle bundle = BundleReader.read(file);
    long size;
    try {
      size = Files.size(file);
    } catch (IOException e) {
      throw new InvalidBundleException("bundle " + file + ": " + e.getMessage(), e);
    }
    ServedModel model = new ServedModel(modelName, ServedModel.Kind.BUNDLE,
        file.toAbsolutePath().toString(), size, TrainedModel.of(bundle, file.toString()));
    if (bundles.putIfAbsent(modelName, model) != null) {
      throw new IllegalStateException("a model named '" + modelName + "' is already served");
    }
    LOG.info("serving bundle {} as '{}': {} tasks, {} parameters", file, modelName,
        model.model().graph().tasks().size(), model.model().parameterCount());
    return model;
  }

  /** The model a request names: a bundle by {@code model}, else the job {@code jobId}. */
  public ServedModel resolve(String model, String jobId) throws ModelLookupException {
    if (!model.isEmpty()) {
      ServedModel served = bundles.get(model);
      if (served == null) {
        throw new ModelLookupException(ModelLookupException.Reason.UNKNOWN,
            "no model named " + tandem.orchestrator.admission.Names.quote(model)
            + "; served models: " + bundles.keySet());
      }
      return served;
    }
    if (jobId.isEmpty()) {
      throw new ModelLookupException(ModelLookupException.Reason.UNKNOWN,
          "model or job_id: expected one of them, found neither");
    }
    return job(jobId);
  }

  /** Every loaded bundle by name, then every succeeded job, newest first. */
  public List<ServedModel> all() {
    List<ServedModel> models = new ArrayList<>();
    bundles.values().stream().sorted(java.util.Comparator.comparing(ServedModel::name))
        .forEach(models::add);
    for (JobRecord record : jobs.all()) {
      if (record.trainedParameters() != null) {
        try {
          models.add(job(record.jobId()));
        } catch (ModelLookupException e) {
          LOG.warn("job {} cannot be served: {}", record.jobId(), e.getMessage());
        }
      }
    }
    for (String jobId : StoredJobModels.succeeded(jobDir)) {
      if (jobs.find(jobId).isEmpty()) {
        try {
          models.add(job(jobId));
        } catch (ModelLookupException e) {
          LOG.warn("job {} cannot be served from {}: {}", jobId, jobDir, e.getMessage());
        }
      }
    }
    return models;
  }

  private ServedModel job(String jobId) throws ModelLookupException {
    ServedModel known = jobModels.get(jobId);
    if (known != null) {
      return known;
    }
    java.util.Optional<JobRecord> found = jobs.find(jobId);
    if (found.isEmpty()) {
      ModelBundle stored = StoredJobModels.load(jobDir, jobId).orElseThrow(() ->
          new ModelLookupException(ModelLookupException.Reason.UNKNOWN,
              "no job with id '" + jobId + "'"));
      return served(jobId, stored);
    }
    JobRecord record = found.get();
    Map<String, INDArray> parameters = record.trainedParameters();
    if (parameters == null) {
      JobStatus status = record.events().statusWithoutCurves();
      throw new ModelLookupException(ModelLookupException.Reason.NOT_SUCCEEDED, "job " + jobId
          + " has no trained model: it is "
          + status.getState().name().replace("JOB_STATE_", "").toLowerCase()
          + (status.getState() == JobState.JOB_STATE_RUNNING
              || status.getState() == JobState.JOB_STATE_PENDING ? " (wait until it succeeds)" : ""));
    }
    return served(jobId, new ModelBundle(record.spec(), parameters, ModelBundle.provenance(
        jobId, record.spec(), record.events().statusWithoutCurves().getStepsDone(), dataSets(record.spec())),
        List.of()));
  }

  private ServedModel served(String jobId, ModelBundle bundle) {
    try {
      ServedModel model = new ServedModel(jobId, ServedModel.Kind.JOB, "", 0,
          TrainedModel.of(bundle, jobId));
      ServedModel raced = jobModels.putIfAbsent(jobId, model);
      return raced == null ? model : raced;
    } catch (InvalidBundleException e) {
      // A succeeded job's parameters always match its spec: this is a bug.
      throw new IllegalStateException("job " + jobId + ": " + e.getMessage(), e);
    }
  }

  /** The file name without its last extension: {@code /m/heads.tandem} is {@code heads}. */
  public static String defaultName(Path file) {
    String fileName = file.getFileName().toString();
    int dot = fileName.lastIndexOf('.');
    return dot > 0 ? fileName.substring(0, dot) : fileName;
  }

  /** Each task's training data in words, for the provenance. */
  static Map<String, String> dataSets(JobSpec spec) {
    Map<String, String> names = new java.util.LinkedHashMap<>();
    for (TaskSpec task : spec.getTasksList()) {
      DataSpec data = task.getData();
      names.put(task.getName(), switch (data.getSourceCase()) {
        case BUILTIN -> "builtin:" + data.getBuiltin().getName()
            + (data.getBuiltin().getOptionsMap().isEmpty() ? ""
                : new java.util.TreeMap<>(data.getBuiltin().getOptionsMap()).toString());
        case CSV -> "csv:" + data.getCsv().getPath();
        default -> data.getSourceCase().name().toLowerCase();
      });
    }
    return names;
  }
}
