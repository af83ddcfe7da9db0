package tandem.orchestrator.job;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ReceiveBuilder;
import tandem.api.v1.Evaluation;
import tandem.orchestrator.job.Coordinator.Command;
import tandem.orchestrator.job.Coordinator.Evaluated;
import tandem.worker.Worker;

/**
 * Training is over: every worker evaluates its tasks on their evaluation data, each within
 * {@code evaluate-timeout}; then evaluation_completed (and a forgetting report) and the final
 * collection. A reply that does not come fails the job naming the worker and its tasks; a worker
 * lost meanwhile has its tasks moved and the evaluation runs again.
 */
final class EvaluatingPhase extends PhaseBehavior {

  private final long round;
  /** Workers whose reply is still to come, by name, with their tasks. */
  private final Map<String, List<String>> awaiting;
  private final List<Evaluation> evaluations = new ArrayList<>();

  private EvaluatingPhase(JobRun run, long round, Map<String, List<String>> awaiting) {
    super(run);
    this.round = round;
    this.awaiting = awaiting;
  }

  static Behavior<Command> start(JobRun run) {
    long round = run.nextRound();
    Map<String, List<String>> awaiting = new LinkedHashMap<>();
    for (ActorRef<Worker.Command> worker : run.placements.workers()) {
      String name = run.placements.name(worker);
      awaiting.put(name, run.placements.tasksOf(worker));
      run.context.ask(Worker.EvaluationDone.class, worker, run.timeouts.evaluate(),
          replyTo -> new Worker.Evaluate(run.jobId(), run.dispatch.trunkVersion(), replyTo),
          (done, failure) -> new Evaluated(round, name, done, failure));
    }
    return new EvaluatingPhase(run, round, awaiting);
  }

  @Override
  protected void handlers(ReceiveBuilder<Command> builder) {
    builder.onMessage(Evaluated.class, safely(this::onEvaluated));
  }

  private Behavior<Command> onEvaluated(Evaluated message) {
    if (message.round() != round || !awaiting.containsKey(message.worker())) {
      return this;
    }
    if (message.error() != null) {
      return run.fail(CoordinatorTimeouts.expired(run.timeouts.evaluate(), "the evaluation of "
          + tasks(awaiting.get(message.worker())) + " from worker '" + message.worker() + "'"));
    }
    awaiting.remove(message.worker());
    message.done().metrics().forEach((task, metrics) -> metrics.forEach((output, value) ->
        evaluations.add(Evaluation.newBuilder().setTask(task).setOutput(output)
            .setMetric(run.plan.graph().task(task).outputs().stream()
                .filter(o -> o.name().equals(output)).findFirst().orElseThrow().metric())
            .setValue(value)
            .setExamples(run.plan.evaluationData().get(task).size()).build())));
    if (!awaiting.isEmpty()) {
      return this;
    }
    evaluations.sort(Comparator.comparingInt(e -> run.placements.taskIndex(e.getTask())));
    run.log.append(JobEvents.evaluationCompleted(run.completed, evaluations));
    ForgettingReports.of(run.plan, evaluations).ifPresent(report ->
        run.log.append(tandem.api.v1.TrainingEvent.newBuilder().setForgettingReport(report)));
    return CollectingPhase.start(run);
  }

  /** "task 'x'" or "tasks 'x', 'y'". */
  static String tasks(List<String> tasks) {
    return (tasks.size() == 1 ? "task '" : "tasks '") + String.join("', '", tasks) + "'";
  }
}
