package tandem.worker.node;

import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import tandem.worker.DeviceBinding;
import tandem.worker.Worker;

/**
 * The guardian of a worker node: spawns its worker actors, each on a pinned thread bound to its
 * device, and registers them with the cluster's receptionist, where the orchestrator finds them.
 */
public final class WorkerNode {

  /** The receptionist key every worker of the cluster is registered under. */
  public static final ServiceKey<Worker.Command> WORKERS =
      ServiceKey.create(Worker.Command.class, "tandem-workers");

  private WorkerNode() {}

  /** {@code workers} workers; worker i takes device {@code devices[i]} (see DeviceBinding). */
  public static Behavior<Void> create(int workers, List<Integer> devices) {
    return Behaviors.setup(context -> {
      var address = context.getSystem().address();
      for (int i = 0; i < workers; i++) {
        String name = "worker-" + i;
        // The name workers report (events, replies) is unique in the cluster, and the same
        // the orchestrator's WorkerDirectory gives them: host:port/worker-i.
        String reported = address.host().get() + ":" + address.port().get() + "/" + name;
        ActorRef<Worker.Command> worker = context.spawn(
            Worker.create(reported, DeviceBinding.deviceFor(i, devices)), name,
            DispatcherSelector.fromConfig("tandem.worker.compute-dispatcher"));
        context.getSystem().receptionist().tell(Receptionist.register(WORKERS, worker));
      }
      context.getLog().info("worker node {} with {} workers registered",
          context.getSystem().address(), workers);
      return Behaviors.empty();
    });
  }
}
