package tandem.orchestrator;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import tandem.orchestrator.job.JobManager;
import tandem.worker.Worker;
import tandem.worker.node.WorkerNode;

/**
 * Follows the workers that worker nodes register with the cluster's receptionist and tells the
 * job manager every worker it may use: the embedded ones, then the remote ones by address. A
 * worker whose node leaves drops out of the listing (running jobs see it stop and move its
 * tasks). Stateless apart from the fixed local list.
 */
final class WorkerDirectory {

  private WorkerDirectory() {}

  static Behavior<Receptionist.Listing> create(List<JobManager.WorkerHandle> local,
      ActorRef<JobManager.Command> jobManager) {
    return Behaviors.setup(context -> {
      context.getSystem().receptionist().tell(
          Receptionist.subscribe(WorkerNode.WORKERS, context.getSelf()));
      return Behaviors.receiveMessage(listing -> {
        List<JobManager.WorkerHandle> all = new ArrayList<>(local);
        listing.getServiceInstances(WorkerNode.WORKERS).stream()
            .sorted(Comparator.comparing(ref -> ref.path().toString()))
            .forEach(ref -> all.add(new JobManager.WorkerHandle(name(ref), ref, null)));
        jobManager.tell(new JobManager.WorkersChanged(all));
        return Behaviors.same();
      });
    });
  }

  /** {@code host:port/worker-i}: unique in the cluster, readable in events. */
  private static String name(ActorRef<Worker.Command> ref) {
    var address = ref.path().address();
    return address.host().isDefined()
        ? address.host().get() + ":" + address.port().get() + "/" + ref.path().name()
        : ref.path().name();
  }
}
