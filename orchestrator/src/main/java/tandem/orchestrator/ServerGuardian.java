package tandem.orchestrator;

import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import tandem.orchestrator.job.JobManager;
import tandem.orchestrator.job.JobStore;

/**
 * The embedded server's guardian: spawns the {@link JobManager}, supervised, and the
 * {@link WorkerDirectory}, which spawns and supervises the local worker actors (each on a
 * thread of its own) and, in a cluster, adds the worker nodes' workers; and forwards every job
 * manager command the gRPC services send to the actor system.
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
      // The workers come from the directory, which supervises the local ones: jobs submitted
      // before they are all up wait for them.
      ActorRef<JobManager.Command> jobManager = context.spawn(JobManager.supervised(store,
          List.of(), settings.retainedEvents(),
          settings.checkpoints().enabled() ? settings.checkpoints() : null,
          settings.minWorkers()), "jobs");
      context.watch(jobManager);
      context.spawn(WorkerDirectory.create(settings.localWorkers(), settings.clusterPort() > 0,
          jobManager, store), "workers");
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
