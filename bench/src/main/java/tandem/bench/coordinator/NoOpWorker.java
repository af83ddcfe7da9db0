package tandem.bench.coordinator;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import tandem.model.train.StepResult;
import tandem.worker.TaskAssignment;
import tandem.worker.Worker;

/**
 * A worker that speaks the real worker protocol but computes nothing: every step is done at once
 * with an empty shared gradient, so a job on these workers measures the coordinator and the
 * shared-parameter actor alone. Confined to its actor.
 */
final class NoOpWorker {

  private static final StepResult RESULT = new StepResult(1.0, Map.of(), 64);

  private NoOpWorker() {}

  static Behavior<Worker.Command> create(String name) {
    return Behaviors.setup(context -> behavior(name, context.getSelf()));
  }

  private static Behavior<Worker.Command> behavior(String name,
      org.apache.pekko.actor.typed.ActorRef<Worker.Command> self) {
    Map<String, TaskAssignment> jobs = new HashMap<>();
    return Behaviors.receive(Worker.Command.class)
        .onMessage(Worker.AssignTasks.class, assign -> {
          jobs.put(assign.assignment().jobId(), assign.assignment());
          assign.replyTo().tell(new Worker.Assigned(assign.assignment().jobId(), name,
              assign.assignment().tasks()));
          return Behaviors.same();
        })
        .onMessage(Worker.RunStep.class, run -> {
          TaskAssignment job = jobs.get(run.jobId());
          job.sharedParameters().tell(new Worker.SharedGradients(run.jobId(), run.step(),
              run.task(), run.minTrunkVersion(), RESULT.loss(), Map.of(), self));
          job.coordinator().tell(new Worker.StepDone(run.jobId(), run.step(), run.task(), RESULT,
              run.minTrunkVersion(), name, 0, Duration.ZERO, Duration.ZERO));
          return Behaviors.same();
        })
        .onMessage(Worker.Evaluate.class, evaluate -> {
          evaluate.replyTo().tell(new Worker.EvaluationDone(evaluate.jobId(), name, Map.of()));
          return Behaviors.same();
        })
        .onMessage(Worker.GetHeads.class, get -> {
          get.replyTo().tell(new Worker.Heads(get.jobId(), name,
              jobs.get(get.jobId()).headParameters()));
          return Behaviors.same();
        })
        .onAnyMessage(message -> Behaviors.same())
        .build();
  }
}
