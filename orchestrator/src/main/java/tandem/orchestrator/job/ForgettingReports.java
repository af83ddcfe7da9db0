package tandem.orchestrator.job;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import tandem.api.v1.Evaluation;
import tandem.api.v1.ForgettingReport;
import tandem.api.v1.TaskForgetting;
import tandem.model.spec.TrainingPlan;

/**
 * The forgetting report of a job that added a task to a trained model: each old task's metric
 * with the starting parameters (the plan's baseline) next to the job's final evaluation.
 * Stateless.
 */
final class ForgettingReports {

  private ForgettingReports() {}

  /** The report, or empty for a job without a baseline (a new model). */
  static Optional<ForgettingReport> of(TrainingPlan plan, List<Evaluation> evaluations) {
    Map<String, Map<String, Double>> baseline = plan.start().baseline();
    if (baseline.isEmpty()) {
      return Optional.empty();
    }
    ForgettingReport.Builder report = ForgettingReport.newBuilder();
    plan.graph().tasks().stream().map(t -> t.name()).filter(t -> !baseline.containsKey(t))
        .findFirst().ifPresent(report::setAddedTask);
    for (Evaluation after : evaluations) {
      Double before = baseline.getOrDefault(after.getTask(), Map.of()).get(after.getOutput());
      if (before != null) {
        report.addTasks(TaskForgetting.newBuilder()
            .setTask(after.getTask())
            .setOutput(after.getOutput())
            .setMetric(after.getMetric())
            .setBefore(before)
            .setAfter(after.getValue())
            .setChange(after.getValue() - before));
      }
    }
    return Optional.of(report.build());
  }
}
