package tandem.worker;

import java.time.Duration;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.model.train.StepResult;

/**
 * A worker: owns the heads of the tasks assigned to it (parameters and optimizer state), a
 * read-only replica of each job's shared modules at a known version, and each task's batch
 * loader. It runs {@link RunStep}s one at a time on its own dispatcher (ND4J work blocks the
 * thread), applies head gradients itself, and sends shared gradients to the job's
 * shared-parameter actor and the outcome to the job's coordinator. A step that needs a newer
 * trunk than the replica waits in a queue until that version arrives ({@link OfferTrunkVersion}:
 * the worker says which version it holds, and gets the next one, the newest, only then). For an
 * async job whose workers all share the shared-parameter actor's JVM, the worker instead reads
 * the newest version before each step and applies its shared gradients itself, through the
 * assignment's {@link DirectTrunk}.
 *
 * <p>An exception outside a step's computation stops the worker; its supervisor ({@link
 * WorkerSlots}) puts a fresh one in its place, and the coordinators of its jobs, which watch it,
 * move its tasks.
 *
 * <p>Talks to: the coordinator (assignments, steps, evaluation) and the shared-parameter actor
 * (gradients out, new versions in). State is confined to the actor.
 *
 * <p>Over 400 lines: the worker protocol's 21 message records (about 190 lines) live here, as
 * {@code Worker.RunStep} and the like, which the coordinator, the shared-parameter actor, the
 * wire serializer and the tests all name; the behaviour itself is about 350 lines.
 */
public final class Worker extends AbstractBehavior<Worker.Command> {

  /** Messages a worker accepts. */
  public sealed interface Command {}

  /** Take over tasks of a job; replies {@link Assigned} once the heads are in place. */
  public record AssignTasks(TaskAssignment assignment, ActorRef<Assigned> replyTo)
      implements Command {}

  /**
   * Train {@code task} on its next batch, on a trunk of at least {@code minTrunkVersion}.
   * {@code dispatchedAtNanos} is the coordinator's {@link System#nanoTime()} at dispatch.
   */
  public record RunStep(String jobId, long step, String task, long minTrunkVersion,
      long dispatchedAtNanos) implements Command {}

  /** A new version of a job's shared modules. */
  public record NewTrunkVersion(String jobId, TrunkSnapshot snapshot) implements Command {}

  /**
   * A new version of a job's shared modules from a sender that coalesces versions: the worker
   * takes it as {@link NewTrunkVersion} and then tells {@code replyTo} the version it holds, and
   * the sender sends no other version to this worker before that (a worker only needs the
   * newest, so a slow worker's mailbox holds at most one trunk copy per job).
   */
  public record OfferTrunkVersion(String jobId, TrunkSnapshot snapshot,
      ActorRef<TrunkVersionHeld> replyTo) implements Command {}

  /** Reply to {@link OfferTrunkVersion}: the version of the job's shared modules {@code worker}
   *  holds now. */
  public record TrunkVersionHeld(String jobId, long version, ActorRef<Command> worker) {}

  /**
   * Sent once by a worker created with a {@code readyTo} ({@link #create(String, OptionalInt,
   * ActorRef)}), when it is bound to its device and takes work: until then its supervisor keeps
   * it out of placement.
   */
  public record WorkerReady(String name, ActorRef<Command> worker) {}

  /** Evaluate this worker's tasks of a job on a trunk of at least {@code minTrunkVersion}. */
  public record Evaluate(String jobId, long minTrunkVersion, ActorRef<EvaluationDone> replyTo)
      implements Command {}

  /** Copies of the job's head parameters, by module name. */
  public record GetHeads(String jobId, ActorRef<Heads> replyTo) implements Command {}

  /**
   * Gradient arrays of this worker's earlier steps that the shared-parameter actor has applied
   * and no longer reads: the worker reuses them instead of allocating new ones.
   */
  public record ReturnGradients(String jobId, Map<String, INDArray> gradients) implements Command {}

  /**
   * Copies of the job's heads with their optimizer state and each task's batch position, for a
   * checkpoint; replies {@link TaskState}. The coordinator asks when no step is in flight.
   */
  public record GetTaskState(String jobId, ActorRef<TaskState> replyTo) implements Command {}

  /**
   * Puts back the optimizer state of heads and the batch positions of tasks assigned just before
   * (a resumed job, or tasks moved from a lost worker); the parameters came with the assignment.
   */
  public record RestoreTasks(String jobId, Map<String, OptimizerSnapshot> optimizers,
      Map<String, Long> batchesDrawn) implements Command {}

  /** Forget a job: its heads, replica and queued steps. */
  public record ReleaseJob(String jobId) implements Command {}

  /**
   * Sent by a worker to itself: tell the coordinator the job's outcomes held back (see
   * {@code reportIfLow}); it comes after the steps that were in the mailbox when it was sent.
   */
  private record FlushOutcomes(String jobId) implements Command {}

  /** Reply to {@link AssignTasks}. */
  public record Assigned(String jobId, String worker, List<String> tasks) {}

  /** The outcome of a {@link RunStep}, sent to the job's coordinator. */
  public sealed interface StepOutcome {
    String jobId();

    long step();
  }

  /**
   * A finished step: the losses it computed (before its updates), the trunk version it read,
   * and where its time went; with a {@link DirectTrunk}, also what its shared update did
   * ({@code applied}; null when the shared-parameter actor applies it and says so itself).
   */
  public record StepDone(String jobId, long step, String task, StepResult result,
      long trunkVersion, String worker, long batch, Duration queueTime, Duration computeTime,
      DirectTrunk.Applied applied) implements StepOutcome {

    /** A step whose shared gradients went to the shared-parameter actor. */
    public StepDone(String jobId, long step, String task, StepResult result, long trunkVersion,
        String worker, long batch, Duration queueTime, Duration computeTime) {
      this(jobId, step, task, result, trunkVersion, worker, batch, queueTime, computeTime, null);
    }
  }

  /**
   * Several finished steps of one job, in step order, reported together: one message, so one
   * wake-up of the coordinator's thread, however many steps it carries (see
   * {@code reportIfLow}). A single outcome goes as a {@link StepDone} of its own.
   */
  public record StepsDone(List<StepDone> steps) implements StepOutcome {
    public StepsDone {
      steps = List.copyOf(steps);
      if (steps.size() < 2) {
        throw new IllegalArgumentException("a batch of outcomes holds two or more steps, got "
            + steps.size());
      }
      String job = steps.get(0).jobId();
      if (!steps.stream().allMatch(done -> done.jobId().equals(job))) {
        throw new IllegalArgumentException("a batch of outcomes holds steps of one job");
      }
    }

    @Override
    public String jobId() {
      return steps.get(0).jobId();
    }

    /** The last step of the batch. */
    @Override
    public long step() {
      return steps.get(steps.size() - 1).step();
    }
  }

  /** A step that threw (non-finite loss, a bug); the job cannot go on. */
  public record StepFailed(String jobId, long step, String task, String worker, String reason)
      implements StepOutcome {}

  /**
   * Shared-module gradients of one step, sent to the job's shared-parameter actor, with the
   * step's loss (uncertainty weighting learns from it).
   */
  public record SharedGradients(String jobId, long step, String task, long trunkVersion,
      double loss, Map<String, INDArray> gradients, ActorRef<Command> worker) {}

  /** Reply to {@link Evaluate}: metric per output per task. */
  public record EvaluationDone(String jobId, String worker,
      Map<String, Map<String, Double>> metrics) {}

  /** Reply to {@link GetHeads}. */
  public record Heads(String jobId, String worker, Map<String, INDArray> parameters) {}

  /**
   * Reply to {@link GetTaskState}: head parameters (copies) and optimizer state by module, and
   * batches drawn by task.
   */
  public record TaskState(String jobId, String worker, Map<String, INDArray> heads,
      Map<String, OptimizerSnapshot> optimizers, Map<String, Long> batchesDrawn) {}

  /** A worker named {@code name} (shown in events) running on the calling dispatcher. */
  public static Behavior<Command> create(String name) {
    return create(name, OptionalInt.empty());
  }

  /**
   * A worker that binds its thread to {@code device} first (see {@link DeviceBinding}); spawn it
   * on {@code tandem.worker.compute-dispatcher} so that the thread never changes.
   */
  public static Behavior<Command> create(String name, OptionalInt device) {
    return create(name, device, null);
  }

  /**
   * As {@link #create(String, OptionalInt)}, and tells {@code readyTo} (unless null) once it takes
   * work. An exception outside a step's computation stops the worker (Pekko's default): its
   * supervisor spawns a fresh one, and the coordinators that watch it move its tasks.
   */
  public static Behavior<Command> create(String name, OptionalInt device,
      ActorRef<WorkerReady> readyTo) {
    return Behaviors.setup(context -> {
      DeviceBinding.bindCurrentThread(name, device);
      Worker worker = new Worker(context, name);
      if (readyTo != null) {
        readyTo.tell(new WorkerReady(name, context.getSelf()));
      }
      return worker;
    });
  }

  /**
   * Sync jobs with a {@link DirectTrunk}: outcomes held back at most, half the rounds the
   * coordinator keeps out by default ({@code tandem.orchestrator.sync-rounds-out}).
   */
  static final int SYNC_DIRECT_REPORT_EVERY = 16;

  /** The setting of how many steps' shared gradients an async worker applies together. */
  public static final String UPDATES_TOGETHER_SETTING = "tandem.worker.async-updates-together";

  private final String name;
  private final Map<String, JobTasks> jobs = new HashMap<>();
  /**
   * Async jobs with a {@link DirectTrunk}: steps whose shared gradients are applied together
   * ({@link #UPDATES_TOGETHER_SETTING}).
   */
  private final int updatesTogether;
  /**
   * Async jobs with a {@link DirectTrunk}: steps whose shared gradients are held at most while
   * another worker's update runs (each held step is one more version of staleness for the next),
   * twice {@link #updatesTogether}.
   */
  private final int heldAtMost;

  private Worker(ActorContext<Command> context, String name) {
    super(context);
    this.name = name;
    this.updatesTogether = updatesTogether(context.getSystem().settings().config());
    this.heldAtMost = 2 * updatesTogether;
    context.getLog().info("worker {} started on thread {}", name, Thread.currentThread().getName());
  }

  /** {@link #UPDATES_TOGETHER_SETTING} of {@code config}, checked to be at least 1. */
  public static int updatesTogether(com.typesafe.config.Config config) {
    int together = config.getInt(UPDATES_TOGETHER_SETTING);
    if (together < 1) {
      throw new IllegalArgumentException(UPDATES_TOGETHER_SETTING + " must be at least 1, found "
          + together);
    }
    return together;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(AssignTasks.class, this::onAssignTasks)
        .onMessage(RunStep.class, this::onRunStep)
        .onMessage(NewTrunkVersion.class, this::onNewTrunkVersion)
        .onMessage(OfferTrunkVersion.class, this::onOfferTrunkVersion)
        .onMessage(Evaluate.class, this::onEvaluate)
        .onMessage(GetHeads.class, this::onGetHeads)
        .onMessage(ReturnGradients.class, this::onReturnGradients)
        .onMessage(GetTaskState.class, this::onGetTaskState)
        .onMessage(RestoreTasks.class, this::onRestoreTasks)
        .onMessage(ReleaseJob.class, this::onReleaseJob)
        .onMessage(FlushOutcomes.class, this::onFlushOutcomes)
        .onSignal(PostStop.class, signal -> onPostStop())
        .build();
  }

  private Behavior<Command> onAssignTasks(AssignTasks command) {
    TaskAssignment assignment = command.assignment();
    JobTasks job = jobs.get(assignment.jobId());
    if (job == null) {
      job = new JobTasks(assignment.plan(), assignment.trunk(), assignment.sharedParameters(),
          assignment.coordinator(), assignment.direct());
      jobs.put(assignment.jobId(), job);
    }
    job.addTasks(assignment.tasks(), assignment.headParameters());
    getContext().getLog().info("worker {} owns tasks {} of job {}", name, assignment.tasks(),
        assignment.jobId());
    command.replyTo().tell(new Assigned(assignment.jobId(), name, assignment.tasks()));
    return this;
  }

  private Behavior<Command> onRunStep(RunStep command) {
    JobTasks job = jobs.get(command.jobId());
    if (job == null) {
      return this; // released (cancelled or failed job): the step is moot
    }
    readNewest(job);
    if (job.trunk().version() < command.minTrunkVersion()) {
      job.waiting().add(command);
      job.prefetch(command.task());
      return this;
    }
    runStep(job, command);
    reportIfLow(command.jobId(), job);
    return this;
  }

  /**
   * The outcomes of finished steps go to the coordinator in batches: one wake-up of the
   * coordinator's thread per batch instead of per step (on the 2-core machine, a tell that woke
   * it cost the worker 11 to 30 us, more when the woken thread took the worker's core).
   *
   * <p>Sync jobs: once at most one step is left waiting here for its version; the coordinator,
   * which sends rounds several ahead, refills the queue while the last step computes.
   *
   * <p>Async jobs: each outcome gives the worker credit for a next step, so they go once half
   * the worker's credits ({@code stepsInFlight}, at least one) have finished, and whatever is
   * held once the steps already in the mailbox have run ({@link FlushOutcomes}, sent to itself):
   * the worker has steps left to run while the coordinator answers.
   *
   * <p>Sync jobs on one worker with a {@link DirectTrunk}: each step applies its own round, so
   * no step waits here and the rounds sent ahead wait in the mailbox instead: the outcomes go
   * every {@link #SYNC_DIRECT_REPORT_EVERY} steps (the coordinator sends more rounds while the
   * ones still queued compute) and, as in async jobs, once the mailbox's steps have run.
   */
  private void reportIfLow(String jobId, JobTasks job) {
    if (!job.async() && job.direct() == null) {
      if (job.waiting().size() <= 1) {
        report(job);
      }
      return;
    }
    int reportAt = job.async() ? Math.max(1, job.stepsInFlight() / 2) : SYNC_DIRECT_REPORT_EVERY;
    if (job.unreported().size() >= reportAt) {
      report(job);
    }
    if ((!job.unreported().isEmpty() || !job.unapplied().isEmpty()) && !job.flushPending()) {
      job.flushPending(true);
      getContext().getSelf().tell(new FlushOutcomes(jobId));
    }
  }

  private Behavior<Command> onFlushOutcomes(FlushOutcomes command) {
    JobTasks job = jobs.get(command.jobId());
    if (job != null) {
      job.flushPending(false);
      reportAll(job);
    }
    return this;
  }

  /**
   * With a {@link DirectTrunk} in async jobs, a step's shared gradients wait for the next steps'
   * until {@link #updatesTogether} wait, and they are applied together, in one pass of the
   * optimizer: the shared state (the trunk's parameters and optimizer moments) then moves
   * between the workers' cores once per that many steps instead of once per step, and is read
   * and written once for all of them. When the two CPUs do not share their caches (bench/run.sh
   * async prints how much sharing costs at the moment), two threads taking turns on the two-head
   * trunk's optimizer state took 23-27 us an update against 5.3 us on one thread. The price: a
   * worker's next steps read versions without its own last gradients (more versions of
   * staleness). A step never waits for one that is not queued: whatever waits is applied when
   * the worker's mailbox holds no more steps ({@link FlushOutcomes}), so with one step in flight
   * nothing changes.
   */
  private void applyHeld(JobTasks job) {
    applyHeld(job, false);
  }

  /**
   * {@link #applyHeld}; with {@code unlessBusy}, only when no other worker's update runs at the
   * moment ({@link DirectTrunk#applyAllUnlessBusy}): otherwise the gradients stay held for the
   * next step, which computes meanwhile instead of waiting for the update to end.
   */
  private void applyHeld(JobTasks job, boolean unlessBusy) {
    List<JobTasks.UnappliedStep> held = job.unapplied();
    if (held.isEmpty()) {
      return;
    }
    List<SharedGradients> offered = held.stream().map(JobTasks.UnappliedStep::gradients)
        .toList();
    List<DirectTrunk.Applied> applied;
    try {
      if (unlessBusy) {
        Optional<List<DirectTrunk.Applied>> done = job.direct().applyAllUnlessBusy(offered);
        if (done.isEmpty()) {
          return;
        }
        applied = done.get();
      } else {
        applied = job.direct().applyAll(offered);
      }
    } catch (RuntimeException e) {
      held.clear();
      SharedGradients first = offered.get(0);
      stepFailed(job, first.jobId(), first.step(), first.task(), e);
      return;
    }
    for (int i = 0; i < held.size(); i++) {
      JobTasks.UnappliedStep step = held.get(i);
      SharedGradients gradients = step.gradients();
      job.recycle(gradients.gradients());
      job.unreported().add(new StepDone(gradients.jobId(), gradients.step(), gradients.task(),
          step.result(), gradients.trunkVersion(), name, step.batch(), step.queueTime(),
          step.computeTime(), applied.get(i)));
    }
    held.clear();
  }

  /** Applies the shared gradients that wait ({@link #applyHeld}), then reports every outcome. */
  private void reportAll(JobTasks job) {
    applyHeld(job);
    report(job);
  }

  /** Tells the coordinator every outcome held back, in step order, in one message. */
  private void report(JobTasks job) {
    List<StepDone> outcomes = job.unreported();
    if (outcomes.size() == 1) {
      job.coordinator().tell(outcomes.get(0));
    } else if (outcomes.size() > 1) {
      job.coordinator().tell(new StepsDone(outcomes));
    }
    outcomes.clear();
  }

  private void runStep(JobTasks job, RunStep command) {
    long start = System.nanoTime();
    // From when the step could start: dispatched, and its trunk version here (a sync round sent
    // ahead waits for its version, and that wait is not queueing).
    long ready = Math.max(command.dispatchedAtNanos(), job.trunkArrivedAtNanos());
    Duration queued = Duration.ofNanos(Math.max(0, start - ready));
    try {
      JobTasks.Computed computed = job.step(command.task());
      Duration compute = Duration.ofNanos(System.nanoTime() - start);
      SharedGradients gradients = new SharedGradients(command.jobId(), command.step(),
          command.task(), computed.trunkVersion(), computed.result().loss(),
          computed.sharedGradients(), getContext().getSelf());
      if (job.direct() != null) {
        job.unapplied().add(new JobTasks.UnappliedStep(gradients, computed.result(),
            computed.batch(), queued, compute));
        if (!job.async()) {
          applyHeld(job);
          job.roundApplied();
        } else if (job.unapplied().size() >= updatesTogether) {
          applyHeld(job, job.unapplied().size() < heldAtMost);
        }
        return;
      }
      job.sharedParameters().tell(gradients);
      job.unreported().add(new StepDone(command.jobId(), command.step(), command.task(),
          computed.result(), computed.trunkVersion(), name, computed.batch(), queued, compute));
    } catch (RuntimeException e) {
      applyHeld(job);
      stepFailed(job, command.jobId(), command.step(), command.task(), e);
    }
  }

  /**
   * Step {@code step} failed with {@code e}: the outcomes held back go first, then the failure.
   */
  private void stepFailed(JobTasks job, String jobId, long step, String task, RuntimeException e) {
    getContext().getLog().warn("worker {}: step {} of task {} in job {} failed", name, step, task,
        jobId, e);
    report(job);
    job.coordinator().tell(new StepFailed(jobId, step, task, name,
        e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
  }

  private Behavior<Command> onNewTrunkVersion(NewTrunkVersion command) {
    JobTasks job = jobs.get(command.jobId());
    if (job == null || command.snapshot().version() <= job.trunk().version()) {
      return this;
    }
    job.replaceTrunk(command.snapshot());
    // Every command this version lets run, in arrival order, wherever it waits: a step re-run
    // after a worker was lost arrives behind rounds sent ahead for later versions.
    Iterator<Command> queued = job.waiting().iterator();
    while (queued.hasNext()) {
      Command next = queued.next();
      if (minVersion(next) > job.trunk().version()) {
        continue;
      }
      queued.remove();
      if (next instanceof RunStep step) {
        runStep(job, step);
      } else if (next instanceof Evaluate evaluate) {
        reportAll(job);
        evaluate(job, evaluate);
      }
    }
    reportIfLow(command.jobId(), job);
    return this;
  }

  /** With a {@link DirectTrunk}: the newest version of the shared modules, read in place. */
  private void readNewest(JobTasks job) {
    if (job.direct() != null) {
      TrunkSnapshot newest = job.direct().newest(getContext().getSelf());
      if (newest.version() > job.trunk().version()) {
        job.readTrunk(newest);
      }
    }
  }

  /** Says it holds the version before the steps it lets run: the next one comes meanwhile. */
  private Behavior<Command> onOfferTrunkVersion(OfferTrunkVersion command) {
    JobTasks job = jobs.get(command.jobId());
    long version = command.snapshot().version();
    command.replyTo().tell(new TrunkVersionHeld(command.jobId(),
        job == null ? version : Math.max(version, job.trunk().version()), getContext().getSelf()));
    return onNewTrunkVersion(new NewTrunkVersion(command.jobId(), command.snapshot()));
  }

  private Behavior<Command> onEvaluate(Evaluate command) {
    JobTasks job = jobs.get(command.jobId());
    if (job != null) {
      readNewest(job);
    }
    if (job == null) {
      command.replyTo().tell(new EvaluationDone(command.jobId(), name, Map.of()));
    } else if (job.trunk().version() < command.minTrunkVersion() || !job.waiting().isEmpty()) {
      job.waiting().add(command);
    } else {
      reportAll(job);
      evaluate(job, command);
    }
    return this;
  }

  private void evaluate(JobTasks job, Evaluate command) {
    Map<String, Map<String, Double>> metrics = new LinkedHashMap<>();
    for (String task : job.tasks()) {
      metrics.put(task, job.evaluate(task));
    }
    command.replyTo().tell(new EvaluationDone(command.jobId(), name, metrics));
  }

  private Behavior<Command> onGetHeads(GetHeads command) {
    JobTasks job = jobs.get(command.jobId());
    if (job != null) {
      reportAll(job);
    }
    command.replyTo().tell(new Heads(command.jobId(), name,
        job == null ? Map.of() : job.copyOfHeads()));
    return this;
  }

  private Behavior<Command> onReturnGradients(ReturnGradients command) {
    JobTasks job = jobs.get(command.jobId());
    if (job != null) {
      job.recycle(command.gradients());
    }
    return this;
  }

  private Behavior<Command> onGetTaskState(GetTaskState command) {
    JobTasks job = jobs.get(command.jobId());
    if (job != null) {
      reportAll(job);
    }
    command.replyTo().tell(job == null
        ? new TaskState(command.jobId(), name, Map.of(), Map.of(), Map.of())
        : new TaskState(command.jobId(), name, job.copyOfHeads(), job.copyOfOptimizers(),
            job.batchesDrawn()));
    return this;
  }

  private Behavior<Command> onRestoreTasks(RestoreTasks command) {
    JobTasks job = jobs.get(command.jobId());
    if (job != null) {
      job.restore(command.optimizers(), command.batchesDrawn());
    }
    return this;
  }

  private Behavior<Command> onReleaseJob(ReleaseJob command) {
    if (jobs.remove(command.jobId()) != null) {
      getContext().getLog().info("worker {} released job {}", name, command.jobId());
    }
    return this;
  }

  private Behavior<Command> onPostStop() {
    jobs.clear();
    return this;
  }

  private static long minVersion(Command command) {
    if (command instanceof RunStep step) {
      return step.minTrunkVersion();
    }
    return ((Evaluate) command).minTrunkVersion();
  }
}
