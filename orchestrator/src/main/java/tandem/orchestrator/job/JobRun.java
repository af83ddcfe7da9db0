package tandem.orchestrator.job;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.api.v1.JobState;
import tandem.api.v1.ScheduleChange;
import tandem.api.v1.TasksMoved;
import tandem.model.spec.TrainingPlan;
import tandem.model.train.Seeds;
import tandem.orchestrator.checkpoint.Checkpoint;
import tandem.orchestrator.checkpoint.CheckpointPolicy;
import tandem.orchestrator.checkpoint.CheckpointSettings;
import tandem.orchestrator.checkpoint.CheckpointWriter;
import tandem.orchestrator.checkpoint.JobDirectory;
import tandem.orchestrator.job.Coordinator.Command;
import tandem.orchestrator.schedule.Schedule;
import tandem.worker.TrunkSnapshot;
import tandem.worker.Worker;

/**
 * The state of one job's run that its coordinator's phases share: placement, dispatch, progress,
 * the latest checkpoint, and what every phase does alike (move a lost worker's tasks, finish).
 * Plain class, confined to the coordinator actor.
 */
final class JobRun {

  /** How long a coordinator that stops unexpectedly waits for its finished mark. */
  private static final long STOP_MARK_MILLIS = 5_000;

  final ActorContext<Command> context;
  final TimerScheduler<Command> timers;
  final CoordinatorTimeouts timeouts;
  final JobRecord record;
  final TrainingPlan plan;
  final EventLog log;
  final TaskPlacements placements;
  final StepDispatch dispatch;
  final Map<String, Integer> dataSizes = new LinkedHashMap<>();
  final SplittableRandom scheduleRandom;
  final List<ScheduleChange> scheduleChanges = new ArrayList<>();
  final JobDirectory directory;
  /** The job directory's only writer; null without a directory. */
  final CheckpointWriter writer;
  final CheckpointPolicy checkpoints;
  final Checkpoint resumedFrom;
  final ActorRef<Worker.StepOutcome> outcomes;
  /** Set once computed (off the actor): where heads come from before the first checkpoint. */
  Map<String, INDArray> initialParameters;
  ActorRef<SharedParameters.Command> sharedParameters;
  ActorRef<Worker.SharedGradients> gradientsTo;
  /** Async jobs whose workers all share this JVM: their way to the shared modules; else null. */
  tandem.worker.DirectTrunk direct;
  /** The latest checkpoint taken (in memory): where a lost worker's heads come back from. */
  Checkpoint latest;
  long completed;
  long examples;
  long startedAtNanos;
  /** When a step out last made progress (an outcome or an application came). */
  long progressNanos;
  boolean stopRequested;
  boolean checkpointDue;
  boolean checkpointWriting;
  /** The job_finished event is in the log. */
  boolean published;
  boolean stoppedFromOutside;
  /** Numbers the requests of each evaluation, collection and checkpoint: older replies are stale. */
  private long round;

  JobRun(ActorContext<Command> context, TimerScheduler<Command> timers,
      CoordinatorTimeouts timeouts, JobRecord record, TrainingPlan plan,
      TaskPlacements placements, JobDirectory directory, CheckpointSettings settings,
      Checkpoint resumeFrom) {
    this.context = context;
    this.timers = timers;
    this.timeouts = timeouts;
    this.record = record;
    this.plan = plan;
    this.log = record.events();
    this.placements = placements;
    this.directory = directory;
    this.resumedFrom = resumeFrom;
    this.checkpoints = directory == null
        ? CheckpointPolicy.never()
        : new CheckpointPolicy(plan.spec().getCheckpoint(), settings,
            resumeFrom == null ? 0 : resumeFrom.step(), System.nanoTime());
    placements.workers().forEach(context::watch);
    plan.graph().tasks().forEach(
        task -> dataSizes.put(task.name(), plan.trainingData().get(task.name()).size()));
    this.scheduleRandom = new SplittableRandom(Seeds.derive(plan.seed(), "schedule"));
    List<String> tasks = List.copyOf(dataSizes.keySet());
    Schedule schedule = Schedule.create(plan.schedule(), tasks, dataSizes, scheduleRandom);
    long trunkVersion = 0;
    if (resumeFrom == null) {
      scheduleChanges.add(ScheduleChange.newBuilder().setSchedule(plan.spec().getSchedule())
          .build());
    } else {
      schedule = ScheduleReplay.replay(resumeFrom, schedule, tasks, dataSizes, scheduleRandom);
      scheduleChanges.addAll(resumeFrom.scheduleChanges());
      this.initialParameters = new LinkedHashMap<>(resumeFrom.parameters());
      this.latest = resumeFrom;
      this.completed = resumeFrom.step();
      this.examples = resumeFrom.examples();
      trunkVersion = resumeFrom.trunkVersion();
    }
    this.dispatch = new StepDispatch(plan, placements.ownerOf(), schedule, completed,
        trunkVersion,
        StepDispatch.Lookahead.of(context.getSystem().settings().config()),
        new StepDispatch.Out() {
          @Override
          public void runStep(ActorRef<Worker.Command> worker, long step, String task,
              long minTrunkVersion) {
            worker.tell(new Worker.RunStep(record.jobId(), step, task, minTrunkVersion,
                System.nanoTime()));
          }

          @Override
          public void expectRound(long version, int steps) {
            if (direct == null) {
              // With direct updates, the worker applies each round (one step) itself.
              sharedParameters.tell(new SharedParameters.ExpectRound(version, steps));
            }
          }
        });
    this.outcomes = context.messageAdapter(Worker.StepOutcome.class, Coordinator.FromWorker::new);
    this.writer = directory == null ? null : CheckpointWriter.acquire(directory);
    if (writer != null) {
      // After the writes of an earlier coordinator of the job (cancelled, then resumed at once):
      // its finished mark must not outlive this run.
      writer.submit(d -> {
        d.clearFinished();
        return null;
      }).whenComplete((done, error) -> {
        if (error != null) {
          context.getSystem().log().warn("job {}: cannot clear its finished mark: {}", jobId(),
              PhaseBehavior.reason(error));
        }
      });
    }
  }

  String jobId() {
    return record.jobId();
  }

  /** A new number for the requests of an evaluation, collection or checkpoint. */
  long nextRound() {
    return ++round;
  }

  boolean trainingOver() {
    return stopRequested || completed == plan.maxSteps();
  }

  boolean shuttingDown() {
    return CoordinatedShutdown.get(context.getSystem()).getShutdownReason().isPresent();
  }

  Map<String, INDArray> sharedInitial() {
    Map<String, INDArray> shared = new LinkedHashMap<>();
    plan.graph().sharedModules().forEach(m -> shared.put(m, initialParameters.get(m)));
    return shared;
  }

  /** Logs step {@code number} once both its outcome and its gradient's application are in. */
  void completeIfReady(long number, StepDispatch.PendingStep step) {
    if (!dispatch.completeIfReady(number)) {
      return;
    }
    completed++;
    examples += step.done.result().examples();
    log.append(JobEvents.stepCompleted(step));
  }

  /**
   * Hands {@code tasks} to {@code worker} with their heads from {@code from} (a checkpoint:
   * parameters, optimizer states, batch positions) or, when null, their initial parameters;
   * the reply (or its timeout) comes as {@link Coordinator.TasksAssigned}.
   */
  void assign(ActorRef<Worker.Command> worker, List<String> tasks, Checkpoint from,
      TrunkSnapshot trunk) {
    String name = placements.name(worker);
    var assignment = placements.assignment(jobId(), tasks, from, initialParameters, trunk,
        gradientsTo, outcomes, direct);
    context.ask(Worker.Assigned.class, worker, timeouts.assign(),
        replyTo -> new Worker.AssignTasks(assignment, replyTo),
        (reply, failure) -> new Coordinator.TasksAssigned(name, failure));
    Worker.RestoreTasks restore = placements.restore(jobId(), tasks, from);
    if (restore != null) {
      worker.tell(restore);
    }
  }

  /**
   * Moves a lost worker's tasks to the least loaded live workers of the job, with their heads
   * from the latest checkpoint, and runs its unreported steps again there. The caller starts
   * over whatever waited for the lost worker (checkpoint, evaluation, collection).
   */
  void moveTasksOf(ActorRef<Worker.Command> lost) {
    dispatch.workerLost(lost);
    TaskPlacements.Move move = placements.lose(lost);
    List<Long> inFlight = dispatch.unreported(move.tasks());
    log.append(JobEvents.workerLost(move.lostName(), move.tasks(), inFlight));
    context.getLog().warn("job {}: {} lost with tasks {} and steps {} in flight; moving them",
        jobId(), move.lostName(), move.tasks(), inFlight);
    TasksMoved.Builder moved = TasksMoved.newBuilder().setFromWorker(move.lostName())
        .setHeadsFromStep(latest == null ? 0 : latest.step());
    move.byOwner().forEach((owner, owned) ->
        owned.forEach(task -> moved.addPlacements(placements.placement(task, owner))));
    // Every live worker of the job already holds a replica, so the trunk here is not read.
    TrunkSnapshot trunk = new TrunkSnapshot(dispatch.trunkVersion(), sharedInitial());
    move.byOwner().forEach((owner, owned) -> assign(owner, owned, latest, trunk));
    List<Long> rerun = new ArrayList<>();
    for (long number : inFlight) {
      if (dispatch.gradientApplied(number)) {
        // Its gradient is in the trunk; only its report was lost with the worker.
        dispatch.doneWithoutOutcome(number);
        completed++;
        moved.addStepsWithoutOutcome(number);
      } else {
        rerun.add(number);
      }
    }
    log.append(JobEvents.tasksMoved(moved.addAllStepsRerun(rerun)));
    rerun.forEach(dispatch::rerun);
  }

  /** Ends the job as failed with {@code message}. */
  Behavior<Command> fail(String message) {
    return finish(JobState.JOB_STATE_FAILED, message);
  }

  /**
   * Ends the job: frees its workers, marks its directory finished (through the writer, after
   * any write in progress) and only then appends job_finished and stops. A coordinator stopped
   * from outside (the server shutting down) leaves its job resumable: no mark.
   */
  Behavior<Command> finish(JobState state, String message) {
    placements.workers().forEach(w -> w.tell(new Worker.ReleaseJob(jobId())));
    if (writer != null && !stoppedFromOutside) {
      return FinishingPhase.start(this, state, message);
    }
    publishFinished(state, message);
    return Behaviors.stopped();
  }

  /** Appends job_finished (once). */
  void publishFinished(JobState state, String message) {
    if (published) {
      return;
    }
    published = true;
    if (log.complete()) {
      // Ended by the job manager: this coordinator stopped answering (RunningJobs).
      return;
    }
    Duration elapsed = Duration.ofNanos(startedAtNanos == 0 ? 0
        : System.nanoTime() - startedAtNanos);
    log.append(JobEvents.finished(state, message, completed, elapsed, examples));
    if (state == JobState.JOB_STATE_FAILED) {
      context.getLog().warn("job {} failed: {}", jobId(), message);
    } else {
      context.getLog().info("job {} ended {} after {} steps in {}", jobId(), state, completed,
          elapsed);
    }
  }

  /**
   * The coordinator stopped: a job not ended yet (the server shutting down, or a throwable the
   * phases did not catch) still ends its log, so that subscribers and status see it end, and
   * still frees its workers; the writer is released.
   */
  void stopped() {
    try {
      if (!published) {
        placements.workers().forEach(w -> w.tell(new Worker.ReleaseJob(jobId())));
        if (log.complete()) {
          // Ended by the job manager: this coordinator had stopped answering (RunningJobs).
          published = true;
          context.getLog().warn("coordinator of job {} stopped after the job manager ended the"
              + " job", jobId());
        } else if (shuttingDown()) {
          stoppedFromOutside = true;
          context.getLog().info("job {} stopped by the server's shutdown", jobId());
          publishFinished(JobState.JOB_STATE_FAILED, directory == null
              ? "the server shut down while the job ran"
              : "the server shut down; the job resumes from its last checkpoint when it restarts");
        } else {
          context.getLog().error("coordinator of job {} stopped before the job ended", jobId());
          // Marked finished first (waiting briefly: the actor is stopping), so that the job is
          // not resumed at the next start, where it would fail again.
          markFinishedNow(JobState.JOB_STATE_FAILED);
          publishFinished(JobState.JOB_STATE_FAILED,
              "internal error in the job's coordinator; see the server log");
        }
      }
    } finally {
      if (writer != null) {
        writer.release();
      }
    }
  }

  private void markFinishedNow(JobState state) {
    if (writer == null) {
      return;
    }
    try {
      // Blocks the stopping actor's thread: bounded to a few seconds, not the write timeout.
      writer.markFinished(state.name()).get(Math.min(STOP_MARK_MILLIS,
          timeouts.checkpointWrite().toMillis()), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      context.getLog().warn("job {}: cannot mark its directory finished", jobId(), e);
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
