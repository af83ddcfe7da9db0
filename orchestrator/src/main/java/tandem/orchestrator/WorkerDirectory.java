package tandem.orchestrator;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import tandem.orchestrator.job.JobManager;
import tandem.orchestrator.job.JobStore;
import tandem.worker.DeviceBinding;
import tandem.worker.Worker;
import tandem.worker.WorkerSlots;
import tandem.worker.node.WorkerNode;

/**
 * The workers jobs may use: spawns and supervises the embedded workers ({@link WorkerSlots},
 * each on a thread of its own, see {@link WorkerThreads}), follows in a cluster the workers that
 * worker nodes register with the receptionist, and tells the job manager every worker that is
 * ready, the embedded ones first, then the remote ones by address, whenever that changes (the
 * first time once every embedded worker has started). Their names go to the {@link JobStore} too,
 * for the metrics.
 *
 * <p>A worker that stops (an exception outside a step's computation) is out of the list at once;
 * the coordinators of its jobs watch it and move its tasks. An embedded one is replaced by a
 * fresh worker of the same name on the same thread, back in the list once it reports ready; a
 * remote one is replaced by its node and comes back through the receptionist. A worker whose
 * node leaves drops out of the listing too. State confined to the actor.
 */
final class WorkerDirectory extends AbstractBehavior<WorkerDirectory.Command> {

  /** Messages the directory accepts; all internal. */
  sealed interface Command {}

  private record Listing(Receptionist.Listing listing) implements Command {}

  private record Ready(Worker.WorkerReady ready) implements Command {}

  /**
   * @param localWorkers embedded workers, worker {@code i} on {@link WorkerThreads#dispatcher}
   * @param cluster whether to follow the workers of worker nodes too
   */
  static Behavior<Command> create(int localWorkers, boolean cluster,
      ActorRef<JobManager.Command> jobManager, JobStore store) {
    return Behaviors.setup(context -> {
      List<Integer> devices =
          context.getSystem().settings().config().getIntList("tandem.worker.devices");
      return new WorkerDirectory(context, localWorkers, cluster, jobManager, store,
          (i, name, readyTo) -> Worker.create(WorkerSlots.actorName(i),
              DeviceBinding.deviceFor(i, devices), readyTo));
    });
  }

  /** As above, with the embedded workers' behaviours from {@code workers} (tests). */
  static Behavior<Command> create(int localWorkers, boolean cluster,
      ActorRef<JobManager.Command> jobManager, JobStore store, WorkerSlots.Factory workers) {
    return Behaviors.setup(context ->
        new WorkerDirectory(context, localWorkers, cluster, jobManager, store, workers));
  }

  private final ActorRef<JobManager.Command> jobManager;
  private final JobStore store;
  private final WorkerSlots local;
  private List<ActorRef<Worker.Command>> remote = List.of();
  private List<JobManager.WorkerHandle> announced;

  private WorkerDirectory(ActorContext<Command> context, int localWorkers, boolean cluster,
      ActorRef<JobManager.Command> jobManager, JobStore store, WorkerSlots.Factory workers) {
    super(context);
    this.jobManager = jobManager;
    this.store = store;
    this.local = new WorkerSlots(context, localWorkers, workers,
        i -> DispatcherSelector.fromConfig(WorkerThreads.dispatcher(i)),
        context.messageAdapter(Worker.WorkerReady.class, Ready::new));
    if (cluster) {
      context.getSystem().receptionist().tell(Receptionist.subscribe(WorkerNode.WORKERS,
          context.messageAdapter(Receptionist.Listing.class, Listing::new)));
    }
    announce();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Ready.class, this::onReady)
        .onMessage(Listing.class, this::onListing)
        .onSignal(Terminated.class, this::onTerminated)
        .build();
  }

  private Behavior<Command> onReady(Ready message) {
    if (local.ready(message.ready())) {
      announce();
    }
    return this;
  }

  private Behavior<Command> onListing(Listing message) {
    remote = message.listing().getServiceInstances(WorkerNode.WORKERS).stream()
        .sorted(Comparator.comparing(ref -> ref.path().toString())).toList();
    announce();
    return this;
  }

  private Behavior<Command> onTerminated(Terminated signal) {
    if (local.stopped(signal.getRef())) {
      announce();
    }
    return this;
  }

  /** Tells the job manager the workers ready now, if that changed, once the start is over. */
  private void announce() {
    if (!local.started()) {
      return;
    }
    List<JobManager.WorkerHandle> all = new ArrayList<>();
    local.ready().forEach((slot, worker) -> all.add(new JobManager.WorkerHandle(worker.name(),
        worker.worker(), WorkerThreads.dispatcher(slot))));
    remote.forEach(ref -> all.add(new JobManager.WorkerHandle(name(ref), ref, null)));
    if (!all.equals(announced)) {
      announced = all;
      getContext().getLog().info("{} workers ready: {}", all.size(),
          all.stream().map(JobManager.WorkerHandle::name).toList());
      store.readyWorkers(all.stream().map(JobManager.WorkerHandle::name).toList());
      jobManager.tell(new JobManager.WorkersChanged(all));
    }
  }

  /** {@code host:port/worker-i}: unique in the cluster, readable in events. */
  private static String name(ActorRef<Worker.Command> ref) {
    var address = ref.path().address();
    return address.host().isDefined()
        ? address.host().get() + ":" + address.port().get() + "/" + ref.path().name()
        : ref.path().name();
  }
}
