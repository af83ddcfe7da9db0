package tandem.orchestrator.job;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.model.train.StepResult;
import tandem.worker.TaskAssignment;
import tandem.worker.Worker;

/**
 * A worker stand-in for coordinator tests: answers every request as a worker would (steps once
 * their trunk version is in, with gradients of ones; evaluation, heads, task state), except the
 * kinds of request it is told to swallow, whose replies are then lost. With
 * {@code badMetrics} its evaluation names an output its task does not have.
 */
final class StandInWorker {

  private StandInWorker() {}

  /**
   * @param swallow kinds of request not answered ({@code Worker.SharedGradients}: steps are
   *     answered without their gradients)
   * @param swallowed where swallowed requests go (null: nowhere)
   */
  static Behavior<Worker.Command> create(String name, Set<Class<?>> swallow,
      boolean badMetrics, ActorRef<Worker.Command> swallowed) {
    return Behaviors.setup(context -> {
      List<TaskAssignment> assignments = new ArrayList<>();
      List<Worker.RunStep> held = new ArrayList<>();
      long[] version = {-1};
      return Behaviors.receive(Worker.Command.class)
          .onMessage(Worker.Command.class, message -> swallow.contains(message.getClass()),
              message -> {
                if (swallowed != null) {
                  swallowed.tell(message);
                }
                return Behaviors.same();
              })
          .onMessage(Worker.AssignTasks.class, assign -> {
            assignments.add(assign.assignment());
            version[0] = Math.max(version[0], assign.assignment().trunk().version());
            assign.replyTo().tell(new Worker.Assigned(assign.assignment().jobId(), name,
                assign.assignment().tasks()));
            return Behaviors.same();
          })
          .onMessage(Worker.NewTrunkVersion.class, next -> {
            version[0] = Math.max(version[0], next.snapshot().version());
            run(name, context.getSelf(), swallow, assignments, held, version[0]);
            return Behaviors.same();
          })
          .onMessage(Worker.OfferTrunkVersion.class, offer -> {
            version[0] = Math.max(version[0], offer.snapshot().version());
            offer.replyTo().tell(new Worker.TrunkVersionHeld(offer.jobId(), version[0],
                context.getSelf()));
            run(name, context.getSelf(), swallow, assignments, held, version[0]);
            return Behaviors.same();
          })
          .onMessage(Worker.RunStep.class, step -> {
            held.add(step);
            run(name, context.getSelf(), swallow, assignments, held, version[0]);
            return Behaviors.same();
          })
          .onMessage(Worker.Evaluate.class, evaluate -> {
            Map<String, Map<String, Double>> metrics = new LinkedHashMap<>();
            tasks(assignments).forEach(task -> metrics.put(task,
                Map.of(badMetrics ? "no-such-output" : "binary", 0.5)));
            evaluate.replyTo().tell(new Worker.EvaluationDone(evaluate.jobId(), name, metrics));
            return Behaviors.same();
          })
          .onMessage(Worker.GetHeads.class, get -> {
            get.replyTo().tell(new Worker.Heads(get.jobId(), name, heads(assignments)));
            return Behaviors.same();
          })
          .onMessage(Worker.GetTaskState.class, get -> {
            Map<String, Long> drawn = new LinkedHashMap<>();
            tasks(assignments).forEach(task -> drawn.put(task, 0L));
            get.replyTo().tell(new Worker.TaskState(get.jobId(), name, heads(assignments),
                Map.of(), drawn));
            return Behaviors.same();
          })
          .onAnyMessage(message -> Behaviors.same())
          .build();
    });
  }

  /** Runs the held steps whose trunk version is in. */
  private static void run(String name, ActorRef<Worker.Command> self, Set<Class<?>> swallow,
      List<TaskAssignment> assignments,
      List<Worker.RunStep> held, long version) {
    for (Worker.RunStep step : List.copyOf(held)) {
      if (step.minTrunkVersion() > version) {
        continue;
      }
      held.remove(step);
      TaskAssignment assignment = assignments.stream()
          .filter(a -> a.tasks().contains(step.task())).reduce((x, y) -> y).orElseThrow();
      Map<String, INDArray> gradients = new LinkedHashMap<>();
      assignment.trunk().parameters().forEach((module, parameters) ->
          gradients.put(module, Nd4j.ones(DataType.FLOAT, parameters.length())));
      if (!swallow.contains(Worker.SharedGradients.class)) {
        assignment.sharedParameters().tell(new Worker.SharedGradients(step.jobId(), step.step(),
            step.task(), version, 1.0, gradients, self));
      }
      assignment.coordinator().tell(new Worker.StepDone(step.jobId(), step.step(), step.task(),
          new StepResult(1.0, Map.of("binary", 1.0), 4), version, name, step.step(),
          Duration.ZERO, Duration.ofMillis(1)));
    }
  }

  private static List<String> tasks(List<TaskAssignment> assignments) {
    return assignments.stream().flatMap(a -> a.tasks().stream()).distinct().toList();
  }

  private static Map<String, INDArray> heads(List<TaskAssignment> assignments) {
    Map<String, INDArray> heads = new LinkedHashMap<>();
    assignments.forEach(a -> heads.putAll(a.headParameters()));
    return heads;
  }
}
