package tandem.orchestrator;

import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import tandem.orchestrator.job.JobManager;
import tandem.orchestrator.job.JobStore;
import tandem.worker.DeviceBinding;
import tandem.worker.Worker;

/**
 * The embedded server's guardian: spawns the local worker actors, each on a thread of its own
 * ({@code tandem.worker.compute-dispatcher}), and the {@link JobManager} over them, supervised,
 * and forwards every job manager command the gRPC services send to the actor system. In a
 * cluster it also starts the {@link WorkerDirectory}, which adds the worker nodes' workers.
 *
 * <p>Why a guardian of its own: with the job manager as the user guardian, one exception while
 * handling one request stopped the actor system and with it every job. Supervised
 * ({@link JobManager#supervised}), an exception in the job manager is logged and fails that one
 * message (the asking request times out); the manager restarts without stopping its running
 * jobs' coordinators, and recovers its state from the job store, its children and the job
 * directory.
 */
final class ServerGuardian {

  private ServerGuardian() {}

  static Behavior<JobManager.Command> create(JobStore store, ServerSettings settings) {
    return Behaviors.setup(context -> {
      List<JobManager.WorkerHandle> workers = new ArrayList<>();
      List<Integer> devices = context.getSystem().settings().config()
          .getIntList("tandem.worker.devices");
      for (int i = 0; i < settings.localWorkers(); i++) {
        String name = "worker-" + i;
        String dispatcher = WorkerThreads.dispatcher(i);
        workers.add(new JobManager.WorkerHandle(name, context.spawn(
            Worker.create(name, DeviceBinding.deviceFor(i, devices)), name,
            DispatcherSelector.fromConfig(dispatcher)), dispatcher));
      }
      context.getLog().info("{} local workers started", workers.size());
      ActorRef<JobManager.Command> jobManager = context.spawn(JobManager.supervised(store,
          workers, settings.retainedEvents(),
          settings.checkpoints().enabled() ? settings.checkpoints() : null,
          settings.minWorkers()), "jobs");
      context.watch(jobManager);
      if (settings.clusterPort() > 0) {
        context.spawn(WorkerDirectory.create(workers, jobManager), "worker-directory");
      }
      return Behaviors.<JobManager.Command>receive((ctx, command) -> {
        jobManager.tell(command);
        return Behaviors.same();
      }, (ctx, signal) -> {
        if (signal instanceof Terminated) {
          ctx.getLog().error("the job manager stopped; the server stops");
          return Behaviors.stopped();
        }
        return Behaviors.same();
      });
    });
  }
}
