package tandem.orchestrator;

import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import tandem.orchestrator.job.JobManager;
import tandem.orchestrator.job.JobStore;
import tandem.worker.DeviceBinding;
import tandem.worker.Worker;

/**
 * The embedded server's guardian: spawns the local worker actors, each on a thread of its own
 * ({@code tandem.worker.compute-dispatcher}), then becomes the {@link JobManager} over them. In a
 * cluster it also starts the {@link WorkerDirectory}, which adds the worker nodes' workers.
 */
final class LocalWorkers {

  private LocalWorkers() {}

  static Behavior<JobManager.Command> guardian(JobStore store, ServerSettings settings) {
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
      if (settings.clusterPort() > 0) {
        context.spawn(WorkerDirectory.create(workers, context.getSelf()), "worker-directory");
      }
      return JobManager.create(store, workers, settings.retainedEvents(),
          settings.checkpoints().enabled() ? settings.checkpoints() : null,
          settings.minWorkers());
    });
  }
}
