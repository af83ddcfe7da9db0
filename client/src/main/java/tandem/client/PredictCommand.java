package tandem.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tandem.api.v1.OutputPrediction;
import tandem.api.v1.Prediction;
import tandem.api.v1.PredictRequest;
import tandem.api.v1.PredictResponse;
import tandem.api.v1.Row;

/** {@code tandem predict MODEL|JOB TASK --row 0.1,0.2,...}: one task's predictions. */
@Command(name = "predict", mixinStandardHelpOptions = true,
    description = "Predict with a served model (or a succeeded job): runs the shared modules and "
        + "the task's own modules on the given rows.")
final class PredictCommand extends RemoteCommand {

  @Parameters(index = "0", paramLabel = "JOB|MODEL",
      description = "A job id (job-0001) or the name of a served model.")
  String reference;

  @Parameters(index = "1", paramLabel = "TASK", description = "The task to answer.")
  String task;

  @Option(names = "--row", paramLabel = "V1,V2,...",
      description = "One input row, comma-separated floats (repeatable).")
  List<String> rows = new ArrayList<>();

  @Option(names = "--csv", paramLabel = "FILE",
      description = "Input rows from a file, one comma-separated row per line.")
  Path csv;

  @Option(names = "--json", description = "Print the response as JSON.")
  boolean json;

  @Override
  protected int run(TandemClient client) throws Exception {
    PredictRequest.Builder request = PredictRequest.newBuilder().setTask(task);
    if (ModelRefs.isJob(reference)) {
      request.setJobId(reference);
    } else {
      request.setModel(reference);
    }
    List<String> lines = new ArrayList<>(rows);
    if (csv != null) {
      lines.addAll(readLines(csv));
    }
    for (int i = 0; i < lines.size(); i++) {
      request.addInputs(row(lines.get(i), i));
    }
    PredictResponse response = client.predict(request.build());
    if (json) {
      out().println(JsonView.json(response));
      return ExitCodes.OK;
    }
    for (OutputPrediction output : response.getOutputsList()) {
      out().println(output.getOutput() + " (" + output.getLoss() + ")");
      for (int i = 0; i < output.getRowsCount(); i++) {
        Prediction prediction = output.getRows(i);
        out().printf("  row %d: label %s  scores %s%n", i, numbers(prediction.getLabelList()),
            numbers(prediction.getScoresList()));
      }
    }
    return ExitCodes.OK;
  }

  private static Row row(String line, int index) throws JobSpecException {
    Row.Builder row = Row.newBuilder();
    for (String value : line.split(",")) {
      try {
        row.addValues(Float.parseFloat(value.trim()));
      } catch (NumberFormatException e) {
        throw new JobSpecException("row " + index + ": '" + value.trim() + "' is not a number");
      }
    }
    return row.build();
  }

  private static List<String> readLines(Path file) throws JobSpecException {
    try {
      return Files.readAllLines(file, StandardCharsets.UTF_8).stream()
          .filter(line -> !line.isBlank()).toList();
    } catch (IOException e) {
      throw new JobSpecException("cannot read " + file + ": " + e.getMessage());
    }
  }

  private static String numbers(List<Float> values) {
    StringBuilder text = new StringBuilder("[");
    for (int i = 0; i < values.size(); i++) {
      text.append(i == 0 ? "" : ", ").append(String.format("%.4g", values.get(i)));
    }
    return text.append(']').toString();
  }
}
