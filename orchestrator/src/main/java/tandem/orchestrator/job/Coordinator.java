package tandem.orchestrator.job;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.api.v1.ScheduleSpec;
import tandem.model.spec.ScheduleSettings;
import tandem.model.spec.TrainingPlan;
import tandem.orchestrator.checkpoint.Checkpoint;
import tandem.orchestrator.checkpoint.CheckpointSettings;
import tandem.orchestrator.checkpoint.JobDirectory;
import tandem.orchestrator.schedule.Schedule;
import tandem.worker.Worker;

/**
 * The coordinator of one job: places its tasks' heads on workers, sends steps as its
 * {@link StepDispatch} decides (the job's {@link Schedule}; sync rounds, the next one sent ahead,
 * or async steps under credits and bounded staleness) to be trained with its child
 * {@link SharedParameters}, appends every step, evaluation and the outcome to the job's
 * {@link EventLog}, and at the end collects the trained parameters. Stops itself when the job
 * ends (succeeded, failed or cancelled), which stops the shared-parameter actor too.
 *
 * <p>One behaviour per phase, over the job's state in a {@link JobRun}:
 * {@link StartingPhase} (initial parameters, shared-parameter actor, assignment),
 * {@link TrainingPhase}, {@link CheckpointingPhase}, {@link EvaluatingPhase},
 * {@link CollectingPhase} and {@link FinishingPhase}; {@link PhaseBehavior} handles what every
 * phase accepts (cancel, schedule changes, a lost worker, a checkpoint written). Placement and
 * failover are in {@link TaskPlacements}, events in {@link JobEvents}, the schedule of a resumed
 * job in {@link ScheduleReplay}.
 *
 * <p>Every wait has a timeout ({@link CoordinatorTimeouts}); on expiry the job fails naming what
 * it waited for and from whom. A worker that stops is not fatal while others are left: its tasks
 * move to the least loaded live workers with their heads from the latest checkpoint, and its
 * steps, evaluation or collection run again there. Checkpoints go through the job directory's
 * one {@link tandem.orchestrator.checkpoint.CheckpointWriter}.
 */
public final class Coordinator {

  /** Messages the coordinator accepts. */
  public sealed interface Command {}

  /** Stop the job now; replies once the job's final event is in the log. */
  public record Cancel(ActorRef<JobManager.Outcome> replyTo) implements Command {}

  /** Replace the schedule from the next step on (already checked against the job's tasks). */
  public record UpdateSchedule(ScheduleSpec spec, ScheduleSettings settings,
      ActorRef<JobManager.Outcome> replyTo) implements Command {}

  /**
   * Answered with {@code Done} in every phase: the job manager's check that the coordinator's
   * thread still runs it ({@link RunningJobs}).
   */
  record Ping(ActorRef<org.apache.pekko.Done> replyTo) implements Command {}

  record FromWorker(Worker.StepOutcome outcome) implements Command {}

  record FromParameters(SharedParameters.Report report) implements Command {}

  /** The job's starting parameters, computed off the actor (or why not). */
  record Initialised(Map<String, INDArray> parameters, Throwable error) implements Command {}

  record TasksAssigned(String worker, Throwable error) implements Command {}

  record Evaluated(long round, String worker, Worker.EvaluationDone done, Throwable error)
      implements Command {}

  record HeadsCollected(long round, String worker, Worker.Heads heads, Throwable error)
      implements Command {}

  record TrunkCollected(long round, SharedParameters.Parameters parameters, Throwable error)
      implements Command {}

  record TaskStateCollected(long round, String worker, Worker.TaskState state, Throwable error)
      implements Command {}

  record SharedStateCollected(long round, SharedParameters.State state, Throwable error)
      implements Command {}

  record CheckpointSaved(long step, Path path, Duration pause, Throwable error)
      implements Command {}

  /** The job directory is marked finished (error null) or could not be. */
  record FinishedMarked(Throwable error) implements Command {}

  /** Timers. */
  enum Tick implements Command { TIME_LIMIT, START_TIMED_OUT, CHECK_STEPS }

  private Coordinator() {}

  /**
   * @param workers every worker the job may use, in placement order, with their names
   */
  public static Behavior<Command> create(JobRecord record, TrainingPlan plan,
      List<ActorRef<Worker.Command>> workers, List<String> workerNames) {
    return create(record, plan, workers, workerNames, null, null, null);
  }

  /**
   * A coordinator that checkpoints into {@code directory} (null: no checkpoints) as
   * {@code settings} and the spec say, starting from {@code resumeFrom} (null: from the start).
   */
  public static Behavior<Command> create(JobRecord record, TrainingPlan plan,
      List<ActorRef<Worker.Command>> workers, List<String> workerNames, JobDirectory directory,
      CheckpointSettings settings, Checkpoint resumeFrom) {
    return create(record, plan, workers, workerNames, directory, settings, resumeFrom,
        DispatcherSelector.defaultDispatcher());
  }

  /** As above, with the shared-parameter actor on {@code parameterDispatcher}. */
  public static Behavior<Command> create(JobRecord record, TrainingPlan plan,
      List<ActorRef<Worker.Command>> workers, List<String> workerNames, JobDirectory directory,
      CheckpointSettings settings, Checkpoint resumeFrom, DispatcherSelector parameterDispatcher) {
    return create(record, plan, workers, workerNames, directory, settings, resumeFrom,
        parameterDispatcher, UnaryOperator.identity());
  }

  /**
   * As above, with the shared-parameter actor's behaviour passed through {@code parameterActor}
   * before it is spawned: where fault-injection tests lose its replies.
   */
  static Behavior<Command> create(JobRecord record, TrainingPlan plan,
      List<ActorRef<Worker.Command>> workers, List<String> workerNames, JobDirectory directory,
      CheckpointSettings settings, Checkpoint resumeFrom, DispatcherSelector parameterDispatcher,
      UnaryOperator<Behavior<SharedParameters.Command>> parameterActor) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      // One logger for every phase (otherwise named after the first phase's class).
      context.setLoggerName(Coordinator.class);
      JobRun run = new JobRun(context, timers,
          CoordinatorTimeouts.create(context.getSystem().settings().config()), record, plan,
          new TaskPlacements(plan, workers, workerNames), directory, settings, resumeFrom);
      return StartingPhase.start(run, parameterDispatcher, parameterActor);
    }));
  }
}
