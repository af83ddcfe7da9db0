package tandem.orchestrator.job;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ReceiveBuilder;
import tandem.api.v1.JobState;
import tandem.orchestrator.job.Coordinator.Command;
import tandem.orchestrator.job.Coordinator.HeadsCollected;
import tandem.orchestrator.job.Coordinator.TrunkCollected;
import tandem.worker.Worker;

/**
 * The end of a job: the trained heads from every worker and the shared modules from the
 * shared-parameter actor, each within {@code collect-timeout}, become the job's trained
 * parameters and the job succeeds. A reply that does not come fails the job naming it; a worker
 * lost meanwhile has its tasks moved, and evaluation and collection run again.
 */
final class CollectingPhase extends PhaseBehavior {

  private final long round;
  private final FinalCollection collection;
  /** Each worker's tasks, by name, for the messages of a reply that does not come. */
  private final Map<String, List<String>> tasks;

  private CollectingPhase(JobRun run, long round, FinalCollection collection,
      Map<String, List<String>> tasks) {
    super(run);
    this.round = round;
    this.collection = collection;
    this.tasks = tasks;
  }

  static Behavior<Command> start(JobRun run) {
    long round = run.nextRound();
    run.context.ask(SharedParameters.Parameters.class, run.sharedParameters,
        run.timeouts.collect(), SharedParameters.GetParameters::new,
        (parameters, failure) -> new TrunkCollected(round, parameters, failure));
    Map<String, List<String>> tasks = new LinkedHashMap<>();
    for (ActorRef<Worker.Command> worker : run.placements.workers()) {
      String name = run.placements.name(worker);
      tasks.put(name, run.placements.tasksOf(worker));
      run.context.ask(Worker.Heads.class, worker, run.timeouts.collect(),
          replyTo -> new Worker.GetHeads(run.jobId(), replyTo),
          (heads, failure) -> new HeadsCollected(round, name, heads, failure));
    }
    return new CollectingPhase(run, round,
        new FinalCollection(run.plan, run.placements.names()), tasks);
  }

  @Override
  protected void handlers(ReceiveBuilder<Command> builder) {
    builder.onMessage(HeadsCollected.class, safely(this::onHeads))
        .onMessage(TrunkCollected.class, safely(this::onTrunk));
  }

  private Behavior<Command> onHeads(HeadsCollected message) {
    if (message.round() != round) {
      return this;
    }
    if (message.error() != null) {
      return run.fail(CoordinatorTimeouts.expired(run.timeouts.collect(), "the trained heads of "
          + EvaluatingPhase.tasks(tasks.get(message.worker())) + " from worker '"
          + message.worker() + "'"));
    }
    collection.heads(message.worker(), message.heads().parameters());
    return collected();
  }

  private Behavior<Command> onTrunk(TrunkCollected message) {
    if (message.round() != round) {
      return this;
    }
    if (message.error() != null) {
      return run.fail(CoordinatorTimeouts.expired(run.timeouts.collect(),
          "the trained shared modules from the shared-parameter actor"));
    }
    collection.trunk(message.parameters().parameters());
    return collected();
  }

  private Behavior<Command> collected() {
    if (!collection.complete()) {
      return this;
    }
    String missing = collection.missing();
    if (missing != null) {
      return run.fail("module '" + missing
          + "' was missing when the trained parameters were collected");
    }
    run.record.setTrainedParameters(collection.inSpecOrder());
    return run.finish(JobState.JOB_STATE_SUCCEEDED, "");
  }
}
