package tandem.worker.node;

import java.util.List;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import tandem.worker.DeviceBinding;
import tandem.worker.Worker;
import tandem.worker.WorkerSlots;

/**
 * The guardian of a worker node: spawns its worker actors under a supervisor ({@link
 * WorkerSlots}), each on a pinned thread bound to its device, and registers each with the
 * cluster's receptionist once it reports ready, where the orchestrator finds it. A worker that
 * stops leaves the receptionist (Pekko deregisters stopped actors) and a fresh one takes its
 * place, registered once ready.
 */
public final class WorkerNode {

  /** The receptionist key every worker of the cluster is registered under. */
  public static final ServiceKey<Worker.Command> WORKERS =
      ServiceKey.create(Worker.Command.class, "tandem-workers");

  private WorkerNode() {}

  /** {@code workers} workers; worker i takes device {@code devices[i]} (see DeviceBinding). */
  public static Behavior<Void> create(int workers, List<Integer> devices) {
    return Behaviors.setup(context -> {
      context.spawn(supervisor(workers, devices), "workers");
      return Behaviors.empty();
    });
  }

  private static Behavior<Worker.WorkerReady> supervisor(int workers, List<Integer> devices) {
    return Behaviors.setup(context -> {
      var address = context.getSystem().address();
      // The name workers report (events, replies) is unique in the cluster, and the same
      // the orchestrator's WorkerDirectory gives them: host:port/actor-name.
      String prefix = address.host().get() + ":" + address.port().get() + "/";
      WorkerSlots slots = new WorkerSlots(context, workers,
          (i, name, readyTo) -> Worker.create(prefix + name, DeviceBinding.deviceFor(i, devices),
              readyTo),
          i -> DispatcherSelector.fromConfig("tandem.worker.compute-dispatcher"),
          context.getSelf());
      boolean[] started = {false};
      return Behaviors.receive(Worker.WorkerReady.class)
          .onMessage(Worker.WorkerReady.class, ready -> {
            if (slots.ready(ready)) {
              context.getSystem().receptionist().tell(
                  Receptionist.register(WORKERS, ready.worker()));
              if (!started[0] && slots.started()) {
                // Tests and operators wait for this line.
                started[0] = true;
                context.getLog().info("worker node {} with {} workers registered", address,
                    slots.ready().size());
              } else if (started[0]) {
                context.getLog().info("worker node {}: {} ready again", address, ready.name());
              }
            }
            return Behaviors.same();
          })
          .onSignal(Terminated.class, signal -> {
            slots.stopped(signal.getRef());
            return Behaviors.same();
          })
          .build();
    });
  }
}
