package tandem.orchestrator.job;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import tandem.model.spec.TrainingPlan;
import tandem.orchestrator.checkpoint.Checkpoint;
import tandem.orchestrator.checkpoint.CheckpointSettings;
import tandem.orchestrator.checkpoint.JobDirectory;

/**
 * The running jobs' coordinators, by job, and the job manager's check that each still answers.
 * A coordinator runs on its job's first local worker's thread ({@link
 * WorkerChoice#coordinatorProps}), so a step, an evaluation or a collection that never returns
 * there stops it too, and with it every timeout of the job's waits (they are its own timers).
 * Every half {@link CoordinatorTimeouts#answer} the manager asks each coordinator that has no
 * question open ({@link Coordinator.Ping}); one that does not answer within it has its job
 * failed by the manager, naming the thread, whose stack goes to the log.
 *
 * <p>Plain class, confined to the {@link JobManager}.
 */
final class RunningJobs {

  /**
   * Whether a job's coordinator runs on its first worker's thread when that worker is local
   * ({@link WorkerChoice#coordinatorProps}).
   */
  static final String ON_WORKER_THREAD = "tandem.orchestrator.coordinator-on-worker-thread";

  private final Duration timeout;
  /** {@link #ON_WORKER_THREAD}. */
  private final boolean onWorkerThread;
  private final Map<String, ActorRef<Coordinator.Command>> byJob = new HashMap<>();
  /** The worker on whose thread each coordinator runs (no entry: the default dispatcher, or
   *  unknown). */
  private final Map<ActorRef<Coordinator.Command>, JobManager.WorkerHandle> hosts =
      new HashMap<>();
  private final Set<ActorRef<Coordinator.Command>> asked = new HashSet<>();

  RunningJobs(Config config) {
    onWorkerThread = config.getBoolean(ON_WORKER_THREAD);
    timeout = CoordinatorTimeouts.create(config).answer();
  }

  /** How often {@link #askAll} runs: half the timeout, so a question is out most of the time. */
  Duration every() {
    return timeout.dividedBy(2);
  }

  /**
   * Spawns job {@code record}'s coordinator (the {@code spawned}-th of the manager) over {@code
   * chosen} workers, as a child of the manager, where {@link WorkerChoice#coordinatorProps} says,
   * and adds it.
   */
  ActorRef<Coordinator.Command> spawn(ActorContext<JobManager.Command> context, JobRecord record,
      TrainingPlan plan, List<JobManager.WorkerHandle> chosen, long spawned,
      CheckpointSettings checkpoints, Checkpoint from) {
    JobDirectory directory = checkpoints == null ? null
        : new JobDirectory(checkpoints.jobDir(), record.jobId());
    // A resumed job's earlier coordinator may still be stopping under the plain name.
    String name = from == null && context.getChild(record.jobId()).isEmpty()
        ? record.jobId() : record.jobId() + "-" + spawned;
    ActorRef<Coordinator.Command> coordinator = context.spawn(
        Coordinator.create(record, plan, chosen.stream().map(JobManager.WorkerHandle::ref)
            .toList(), chosen.stream().map(JobManager.WorkerHandle::name).toList(), directory,
            checkpoints, from, WorkerChoice.parameterDispatcher(plan, chosen)),
        name, WorkerChoice.coordinatorProps(chosen, onWorkerThread));
    add(record.jobId(), coordinator, WorkerChoice.coordinatorHost(chosen, onWorkerThread));
    return coordinator;
  }

  /**
   * Job {@code jobId} runs with {@code coordinator}, on the thread of local worker {@code
   * host}, or on the default dispatcher or somewhere unknown (null).
   */
  void add(String jobId, ActorRef<Coordinator.Command> coordinator,
      JobManager.WorkerHandle host) {
    byJob.put(jobId, coordinator);
    if (host != null) {
      hosts.put(coordinator, host);
    }
  }

  /**
   * After the manager's restart: its children's coordinators (the newest of each job's, by
   * name), added and watched by the new incarnation.
   */
  void recover(ActorContext<JobManager.Command> context) {
    ManagerRecovery.coordinators(context.getChildren()).forEach((jobId, coordinator) -> {
      add(jobId, coordinator, null);
      context.watch(coordinator);
    });
    context.getLog().warn("job manager restarted after an error: {} running jobs recovered",
        byJob.size());
  }

  /** The coordinator of job {@code jobId}, or null. */
  ActorRef<Coordinator.Command> get(String jobId) {
    return byJob.get(jobId);
  }

  boolean contains(String jobId) {
    return byJob.containsKey(jobId);
  }

  /** Forgets job {@code jobId}'s coordinator, if it has one here. */
  void forget(String jobId) {
    ActorRef<Coordinator.Command> coordinator = byJob.get(jobId);
    if (coordinator != null) {
      remove(coordinator);
    }
  }

  /** Forgets {@code coordinator}; the id of its job, if it had one here. */
  Optional<String> remove(ActorRef<?> coordinator) {
    Optional<String> jobId = byJob.entrySet().stream()
        .filter(e -> e.getValue().equals(coordinator)).map(Map.Entry::getKey).findFirst();
    jobId.ifPresent(byJob::remove);
    hosts.remove(coordinator);
    asked.remove(coordinator);
    return jobId;
  }

  /**
   * Asks every coordinator with no question open whether it answers; each answer, or its
   * timeout, comes back to the manager as {@code adapt(coordinator, error)}.
   */
  void askAll(ActorContext<JobManager.Command> context, Answer adapt) {
    for (ActorRef<Coordinator.Command> coordinator : byJob.values()) {
      if (asked.add(coordinator)) {
        context.ask(Done.class, coordinator, timeout, Coordinator.Ping::new,
            (reply, error) -> adapt.answered(coordinator, error));
      }
    }
  }

  /** How an answer (or its timeout: {@code error} not null) reaches the manager. */
  @FunctionalInterface
  interface Answer {
    JobManager.Command answered(ActorRef<Coordinator.Command> coordinator, Throwable error);
  }

  /**
   * An answer, or its timeout: the reason to fail the coordinator's job when it timed out and
   * the job still runs with it, otherwise null. Logs the stacks of the threads it may be stuck
   * on.
   */
  String answered(ActorContext<JobManager.Command> context,
      ActorRef<Coordinator.Command> coordinator, Throwable error) {
    asked.remove(coordinator);
    if (error == null || !byJob.containsValue(coordinator)) {
      return null;
    }
    JobManager.WorkerHandle host = hosts.get(coordinator);
    String threadName = host == null ? null : host.dispatcher();
    StringBuilder stacks = new StringBuilder();
    Thread.getAllStackTraces().forEach((thread, stack) -> {
      // Named after their dispatcher and a number: "worker-1-" is not "worker-10-".
      if (threadName != null && thread.getName().contains(threadName + "-")) {
        stacks.append("\n  thread ").append(thread.getName()).append(" (")
            .append(thread.getState()).append(")");
        for (StackTraceElement frame : stack) {
          stacks.append("\n    at ").append(frame);
        }
      }
    });
    context.getLog().error("coordinator {} did not answer for {}{}", coordinator.path().name(),
        CoordinatorTimeouts.readable(timeout), stacks);
    return host == null
        ? "the job's coordinator did not answer for " + CoordinatorTimeouts.readable(timeout)
            + "; see the server log"
        : "the job's coordinator did not answer for " + CoordinatorTimeouts.readable(timeout)
            + ": it runs on the thread of worker '" + host.name() + "', which was busy all"
            + " that time (a step, evaluation or collection that does not return?); its stack is"
            + " in the server log";
  }
}
