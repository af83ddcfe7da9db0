package tandem.orchestrator.job;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.model.optim.OptimizerState;
import tandem.model.spec.TrainingPlan;
import tandem.worker.TrunkSnapshot;
import tandem.worker.Worker;

/**
 * The shared-parameter actor of one job: keeps the master copy of the shared modules and their
 * optimizer state, and applies the workers' gradients in sync rounds: the coordinator announces
 * how many steps a round has ({@link ExpectRound}); when all their gradients are in, they are
 * combined ({@link GradientAggregation}), applied once, and the new version is published to the
 * job's workers and reported to the coordinator. Each version is built from fresh arrays, so
 * published snapshots are never written (see {@link TrunkSnapshot}).
 *
 * <p>Child of the job's coordinator; state confined to the actor.
 */
public final class SharedParameters extends AbstractBehavior<SharedParameters.Command> {

  /** Messages the shared-parameter actor accepts. */
  public sealed interface Command {}

  /** The round computing on {@code version} has {@code steps} steps. */
  public record ExpectRound(long version, int steps) implements Command {}

  /** Send copies of the master parameters. */
  public record GetParameters(ActorRef<Parameters> replyTo) implements Command {}

  /** Reply to {@link GetParameters}. */
  public record Parameters(long version, Map<String, INDArray> parameters) {}

  /** What the shared-parameter actor tells its coordinator. */
  public sealed interface Report {}

  /** Sent once at start: where workers send their shared gradients. */
  public record Ready(ActorRef<Worker.SharedGradients> gradients) implements Report {}

  /** Sent after each applied round, with each applied step's staleness. */
  public record VersionApplied(long version, Map<Long, Long> stalenessByStep) implements Report {}

  private record GradientsArrived(Worker.SharedGradients gradients) implements Command {}

  /**
   * @param initial version 0 of the shared modules (already sent to the workers)
   * @param workers every worker with tasks of this job: each gets every new version
   */
  public static Behavior<Command> create(String jobId, TrainingPlan plan, TrunkSnapshot initial,
      List<ActorRef<Worker.Command>> workers, ActorRef<Report> coordinator) {
    return Behaviors.setup(context ->
        new SharedParameters(context, jobId, plan, initial, workers, coordinator));
  }

  private final String jobId;
  private final List<ActorRef<Worker.Command>> workers;
  private final ActorRef<Report> coordinator;
  private final GradientAggregation aggregation;
  private final Map<String, OptimizerState> optimizers = new HashMap<>();
  private final Map<Long, Integer> expectedSteps = new HashMap<>();
  private final TreeMap<Long, List<Worker.SharedGradients>> arrived = new TreeMap<>();
  private TrunkSnapshot current;

  private SharedParameters(ActorContext<Command> context, String jobId, TrainingPlan plan,
      TrunkSnapshot initial, List<ActorRef<Worker.Command>> workers,
      ActorRef<Report> coordinator) {
    super(context);
    this.jobId = jobId;
    this.workers = List.copyOf(workers);
    this.coordinator = coordinator;
    this.aggregation = GradientAggregation.named(plan.aggregation());
    this.current = initial;
    initial.parameters().forEach((module, parameters) -> optimizers.put(module,
        new OptimizerState(plan.optimizer().toUpdater(), parameters.length(),
            parameters.dataType())));
    ActorRef<Worker.SharedGradients> gradients =
        context.messageAdapter(Worker.SharedGradients.class, GradientsArrived::new);
    coordinator.tell(new Ready(gradients));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(ExpectRound.class, this::onExpectRound)
        .onMessage(GradientsArrived.class, this::onGradientsArrived)
        .onMessage(GetParameters.class, this::onGetParameters)
        .build();
  }

  private Behavior<Command> onExpectRound(ExpectRound command) {
    expectedSteps.put(command.version(), command.steps());
    applyCompleteRound();
    return this;
  }

  private Behavior<Command> onGradientsArrived(GradientsArrived message) {
    Worker.SharedGradients gradients = message.gradients();
    arrived.computeIfAbsent(gradients.trunkVersion(), v -> new ArrayList<>()).add(gradients);
    applyCompleteRound();
    return this;
  }

  private Behavior<Command> onGetParameters(GetParameters command) {
    Map<String, INDArray> copy = new LinkedHashMap<>();
    current.parameters().forEach((module, parameters) -> copy.put(module, parameters.dup()));
    command.replyTo().tell(new Parameters(current.version(), copy));
    return this;
  }

  private void applyCompleteRound() {
    long version = current.version();
    Integer expected = expectedSteps.get(version);
    List<Worker.SharedGradients> round = arrived.get(version);
    if (expected == null || round == null || round.size() < expected) {
      return;
    }
    // Step order, not arrival order, so that the sum is the same whatever the timing.
    round.sort(java.util.Comparator.comparingLong(Worker.SharedGradients::step));
    Map<String, INDArray> combined =
        aggregation.combine(round.stream().map(Worker.SharedGradients::gradients).toList());
    Map<String, INDArray> next = new LinkedHashMap<>(current.parameters());
    combined.forEach((module, gradient) -> {
      INDArray updated = current.parameters().get(module).dup();
      optimizers.get(module).applyInPlace(updated, gradient);
      next.put(module, updated);
    });
    current = new TrunkSnapshot(version + 1, next);
    expectedSteps.remove(version);
    arrived.remove(version);
    for (ActorRef<Worker.Command> worker : workers) {
      worker.tell(new Worker.NewTrunkVersion(jobId, current));
    }
    Map<Long, Long> staleness = new LinkedHashMap<>();
    round.forEach(step -> staleness.put(step.step(), version - step.trunkVersion()));
    coordinator.tell(new VersionApplied(current.version(), staleness));
  }

}
