package tandem.orchestrator.grpc;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tandem.api.v1.InferenceServiceGrpc;
import tandem.api.v1.ListModelsRequest;
import tandem.api.v1.ListModelsResponse;
import tandem.api.v1.PredictRequest;
import tandem.api.v1.PredictResponse;
import tandem.api.v1.Row;
import tandem.api.v1.Rows;
import tandem.model.bundle.TaskPredictor;
import tandem.orchestrator.serving.ModelLookupException;
import tandem.orchestrator.serving.ModelRegistry;
import tandem.orchestrator.serving.Predictions;
import tandem.orchestrator.serving.ServedModel;

/**
 * gRPC adapter of the serving API: checks a request against its model and task (names, batch
 * size, row widths, finite values), hands it to {@link Predictions} (which batches and computes
 * off the gRPC threads) and maps the scores back. Thread-safe.
 */
public final class InferenceService extends InferenceServiceGrpc.InferenceServiceImplBase {

  private static final Logger LOG = LoggerFactory.getLogger(InferenceService.class);

  private final ModelRegistry models;
  private final Predictions predictions;

  private final int maxRows;

  /** @param maxRows the most rows one request may send ({@code limits.predict-rows}) */
  public InferenceService(ModelRegistry models, Predictions predictions, int maxRows) {
    this.models = models;
    this.predictions = predictions;
    this.maxRows = maxRows;
  }

  @Override
  public void predict(PredictRequest request, StreamObserver<PredictResponse> response) {
    ServedModel model;
    Predictions.Input input;
    int rows = request.getFieldsMap().values().stream().mapToInt(f -> f.getRowsCount())
        .reduce(request.getInputsCount(), Math::max);
    if (rows > maxRows) {
      response.onError(Status.RESOURCE_EXHAUSTED.withDescription(
          new tandem.orchestrator.admission.LimitExceededException("inputs", "rows", rows,
              maxRows, "predict-rows").getMessage()).asException());
      return;
    }
    try {
      model = lookUp(models, request.getModel(), request.getJobId());
      input = input(model, request);
    } catch (RequestException e) {
      response.onError(e.status().asException());
      return;
    }
    predictions.predict(model, request.getTask(), input).whenComplete((outputs, error) -> {
      if (error != null) {
        LOG.error("prediction of task {} with model {} failed", request.getTask(), model.name(),
            error);
        response.onError(Status.INTERNAL.withDescription("prediction failed; see the server log")
            .asException());
        return;
      }
      PredictResponse.Builder reply = PredictResponse.newBuilder()
          .setModel(model.name()).setTask(request.getTask());
      for (TaskPredictor.OutputScores output : outputs) {
        reply.addOutputs(PredictionProtos.output(output));
      }
      response.onNext(reply.build());
      response.onCompleted();
    });
  }

  @Override
  public void listModels(ListModelsRequest request, StreamObserver<ListModelsResponse> response) {
    ListModelsResponse.Builder reply = ListModelsResponse.newBuilder();
    models.all().forEach(model -> reply.addModels(model.info()));
    response.onNext(reply.build());
    response.onCompleted();
  }

  /** The model a request names; NOT_FOUND or FAILED_PRECONDITION otherwise. */
  static ServedModel lookUp(ModelRegistry models, String model, String jobId)
      throws RequestException {
    try {
      return models.resolve(model, jobId);
    } catch (ModelLookupException e) {
      String message = tandem.orchestrator.admission.Names.cap(e.getMessage());
      throw new RequestException(e.reason() == ModelLookupException.Reason.UNKNOWN
          ? Status.NOT_FOUND.withDescription(message)
          : Status.FAILED_PRECONDITION.withDescription(message));
    }
  }

  /** The request's rows by field, checked against the task. */
  private static Predictions.Input input(ServedModel model, PredictRequest request)
      throws RequestException {
    String task = request.getTask();
    if (task.isEmpty()) {
      throw invalid("task: expected the name of a task of model '" + model.name() + "'");
    }
    if (!model.model().hasTask(task)) {
      List<String> tasks = model.model().graph().tasks().stream().map(t -> t.name()).toList();
      throw new RequestException(Status.NOT_FOUND.withDescription("model '" + model.name()
          + "' has no task " + RequestFields.quote(task) + "; its tasks: " + (tasks.size() <= 10 ? tasks
              : tasks.subList(0, 10) + " and " + (tasks.size() - 10) + " more")));
    }
    // null for tasks whose first step reads fields of its own (routes, merges).
    String inputField = model.model().graph().task(task).input();
    int width = model.model().inputWidth(task);
    Map<String, List<Row>> fields = new LinkedHashMap<>();
    if (request.getInputsCount() > 0) {
      if (inputField == null) {
        throw invalid("inputs: task '" + task + "' reads several fields; send them in fields");
      }
      fields.put(inputField, request.getInputsList());
    } else {
      request.getFieldsMap().forEach((name, rows) -> fields.put(name, rows.getRowsList()));
      if (!fields.isEmpty() && inputField != null && !fields.containsKey(inputField)) {
        throw invalid("fields: missing the input field '" + inputField + "' of task '" + task
            + "'; found " + fields.keySet());
      }
    }
    String first = inputField != null ? inputField
        : fields.keySet().stream().findFirst().orElse(null);
    int rows = fields.containsKey(first) ? fields.get(first).size() : 0;
    if (rows == 0) {
      throw invalid("inputs: empty batch: expected at least one row"
          + (width > 0 ? " of " + width + " values (the input width of task '" + task + "')"
              : ""));
    }
    inputField = first;
    Map<String, float[]> values = new LinkedHashMap<>();
    Map<String, Integer> widths = new LinkedHashMap<>();
    for (Map.Entry<String, List<Row>> field : fields.entrySet()) {
      String name = field.getKey();
      String prefix = request.getInputsCount() > 0 ? "inputs" : "fields[" + name + "].rows";
      List<Row> fieldRows = field.getValue();
      if (fieldRows.size() != rows) {
        throw invalid(prefix + ": expected " + rows + " rows like field '" + inputField
            + "', found " + fieldRows.size());
      }
      boolean checked = name.equals(inputField) && width > 0;
      int fieldWidth = checked ? width : fieldRows.get(0).getValuesCount();
      float[] flat = new float[rows * fieldWidth];
      for (int i = 0; i < rows; i++) {
        Row row = fieldRows.get(i);
        if (row.getValuesCount() != fieldWidth) {
          throw invalid(prefix + "[" + i + "]: expected " + fieldWidth + " values"
              + (checked ? " (the input width of task '" + task + "')" : "")
              + ", found " + row.getValuesCount());
        }
        for (int j = 0; j < fieldWidth; j++) {
          float value = row.getValues(j);
          if (!Float.isFinite(value)) {
            throw invalid(prefix + "[" + i + "].values[" + j + "]: expected a finite number, "
                + "found " + value);
          }
          flat[i * fieldWidth + j] = value;
        }
      }
      values.put(name, flat);
      widths.put(name, fieldWidth);
    }
    return new Predictions.Input(values, widths, rows);
  }

  private static RequestException invalid(String message) {
    return new RequestException(Status.INVALID_ARGUMENT.withDescription(message));
  }

  /** A request the service answers with {@link #status()} instead of a prediction. */
  static final class RequestException extends Exception {
    private static final long serialVersionUID = 1L;
    private final transient Status status;

    RequestException(Status status) {
      super(status.getDescription(), null, false, false);
      this.status = status;
    }

    Status status() {
      return status;
    }
  }
}
