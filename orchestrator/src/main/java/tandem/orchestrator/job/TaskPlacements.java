package tandem.orchestrator.job;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.api.v1.TaskPlacement;
import tandem.model.spec.TrainingPlan;
import tandem.orchestrator.checkpoint.Checkpoint;
import tandem.worker.DirectTrunk;
import tandem.worker.OptimizerSnapshot;
import tandem.worker.TaskAssignment;
import tandem.worker.TrunkSnapshot;
import tandem.worker.Worker;

/**
 * Which live worker of a job owns which task ({@link Placement} at the start), the workers'
 * names, what an assignment carries, and where a lost worker's tasks go. Plain class, confined to
 * the coordinator.
 */
final class TaskPlacements {

  /** Tasks moved off a lost worker: their new owners, and the lost worker's name. */
  record Move(String lostName, List<String> tasks,
      Map<ActorRef<Worker.Command>, List<String>> byOwner) {}

  private final TrainingPlan plan;
  private final Map<String, ActorRef<Worker.Command>> ownerOf = new LinkedHashMap<>();
  private final Map<ActorRef<Worker.Command>, String> nameOf = new LinkedHashMap<>();

  /** @param workers every worker the job may use, in placement order, with their names */
  TaskPlacements(TrainingPlan plan, List<ActorRef<Worker.Command>> workers, List<String> names) {
    this.plan = plan;
    Placement.place(plan.graph(), workers.size()).forEach((task, index) ->
        ownerOf.put(task, workers.get(index)));
    for (ActorRef<Worker.Command> worker : ownerOf.values()) {
      nameOf.put(worker, names.get(workers.indexOf(worker)));
    }
  }

  /** Each task's worker, in task order; kept current as tasks move. */
  Map<String, ActorRef<Worker.Command>> ownerOf() {
    return ownerOf;
  }

  /** The live workers of the job (those that own a task), in placement order. */
  Set<ActorRef<Worker.Command>> workers() {
    return nameOf.keySet();
  }

  /** The names of the live workers. */
  List<String> names() {
    return List.copyOf(nameOf.values());
  }

  int size() {
    return nameOf.size();
  }

  boolean isLive(ActorRef<Worker.Command> worker) {
    return nameOf.containsKey(worker);
  }

  String name(ActorRef<Worker.Command> worker) {
    return nameOf.getOrDefault(worker, "a worker");
  }

  /** The name of the worker that owns {@code task}. */
  String ownerName(String task) {
    return name(ownerOf.get(task));
  }

  List<String> tasksOf(ActorRef<Worker.Command> worker) {
    return ownerOf.entrySet().stream().filter(e -> e.getValue().equals(worker))
        .map(Map.Entry::getKey).toList();
  }

  int taskIndex(String task) {
    return new ArrayList<>(ownerOf.keySet()).indexOf(task);
  }

  /** Every task's placement, in task order, for job_started and job_resumed. */
  List<TaskPlacement.Builder> all() {
    List<TaskPlacement.Builder> all = new ArrayList<>();
    ownerOf.forEach((task, worker) -> all.add(placement(task, worker)));
    return all;
  }

  TaskPlacement.Builder placement(String task, ActorRef<Worker.Command> worker) {
    return TaskPlacement.newBuilder().setTask(task).setWorker(nameOf.get(worker))
        .addAllHeads(plan.graph().heads(task));
  }

  /**
   * Takes {@code lost} out of the job and gives its tasks to the least loaded live workers
   * (by head parameters); at least one worker must be left.
   */
  Move lose(ActorRef<Worker.Command> lost) {
    List<String> tasks = tasksOf(lost);
    String lostName = nameOf.remove(lost);
    List<ActorRef<Worker.Command>> live = new ArrayList<>(nameOf.keySet());
    long[] load = new long[live.size()];
    ownerOf.forEach((task, owner) -> {
      int index = live.indexOf(owner);
      if (index >= 0) {
        load[index] += Placement.headSize(plan.graph(), task);
      }
    });
    Map<ActorRef<Worker.Command>, List<String>> byOwner = new LinkedHashMap<>();
    Placement.reassign(plan.graph(), tasks, load).forEach((task, index) -> {
      ActorRef<Worker.Command> owner = live.get(index);
      ownerOf.put(task, owner);
      byOwner.computeIfAbsent(owner, o -> new ArrayList<>()).add(task);
    });
    return new Move(lostName, tasks, byOwner);
  }

  /**
   * The assignment of {@code tasks} with their heads from {@code from} (a checkpoint) or, when
   * null, from {@code initial}; copies, which the worker owns and updates.
   */
  TaskAssignment assignment(String jobId, List<String> tasks, Checkpoint from,
      Map<String, INDArray> initial, TrunkSnapshot trunk,
      ActorRef<Worker.SharedGradients> gradientsTo, ActorRef<Worker.StepOutcome> outcomes,
      DirectTrunk direct) {
    Map<String, INDArray> heads = new LinkedHashMap<>();
    for (String task : tasks) {
      for (String head : plan.graph().heads(task)) {
        heads.put(head, (from == null ? initial : from.parameters()).get(head).dup());
      }
    }
    return new TaskAssignment(jobId, plan, tasks, heads, trunk, gradientsTo, outcomes, direct);
  }

  /** What a worker restores for {@code tasks} from checkpoint {@code from}; null if nothing. */
  Worker.RestoreTasks restore(String jobId, List<String> tasks, Checkpoint from) {
    if (from == null) {
      return null;
    }
    Map<String, OptimizerSnapshot> optimizers = new LinkedHashMap<>();
    Map<String, Long> drawn = new LinkedHashMap<>();
    for (String task : tasks) {
      for (String head : plan.graph().heads(task)) {
        if (from.headOptimizers().containsKey(head)) {
          optimizers.put(head, from.headOptimizers().get(head));
        }
      }
      if (from.batchesDrawn().containsKey(task)) {
        drawn.put(task, from.batchesDrawn().get(task));
      }
    }
    return optimizers.isEmpty() && drawn.isEmpty() ? null
        : new Worker.RestoreTasks(jobId, optimizers, drawn);
  }
}
