package tandem.orchestrator.job;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.actor.typed.ActorRef;
import tandem.model.spec.TrainingPlan;
import tandem.orchestrator.schedule.Schedule;
import tandem.worker.Worker;

/**
 * Which steps of a job go out when, and the steps out until both their outcome and their
 * gradient's application are in.
 *
 * <ul>
 *   <li>Sync: rounds of the schedule's next steps, at most {@code stepsInFlight} per worker, all
 *       on the version the previous round produces. The next rounds go out while the current
 *       one computes: the workers hold them until their version arrives and start each the
 *       moment it does, so the coordinator is not on the path from one step to the next, and
 *       workers report their outcomes in batches. How many rounds are out at once: enough for
 *       {@link Lookahead#time} at the pace of the recent steps, at least 2 (the one computing
 *       and the next), at most {@link Lookahead#maxRounds} (settings
 *       {@code tandem.orchestrator.sync-lookahead} and {@code sync-rounds-out}); short steps
 *       thus get long batches, and long steps do not hold back a schedule change or a
 *       checkpoint behind many rounds.
 *   <li>Async: steps while their worker has credit ({@code stepsInFlight} each) and, under
 *       bounded staleness S, while no gradient in flight could be applied more than S versions
 *       after the replica it read.
 * </ul>
 *
 * <p>Plain class, confined to the job's {@link Coordinator}, which keeps the task placement it
 * reads ({@code ownerOf}) current and logs what completes.
 */
final class StepDispatch {

  /** Where dispatched steps and announced rounds go. */
  interface Out {
    /** Sends step {@code step} of {@code task} to {@code worker}, for a replica of at least
     *  {@code minTrunkVersion}. */
    void runStep(ActorRef<Worker.Command> worker, long step, String task, long minTrunkVersion);

    /** Tells the shared-parameter actor that the round on {@code version} has {@code steps}. */
    void expectRound(long version, int steps);
  }

  /**
   * Sync: rounds out at once, at most {@code maxRounds} (at least 2) and no more than cover
   * {@code time} of steps.
   */
  record Lookahead(int maxRounds, Duration time) {
    Lookahead {
      if (maxRounds < 2) {
        throw new IllegalArgumentException("expected at least 2 sync rounds out, found "
            + maxRounds);
      }
    }

    /** From {@code tandem.orchestrator.sync-rounds-out} and {@code sync-lookahead}. */
    static Lookahead of(Config config) {
      return new Lookahead(config.getInt("tandem.orchestrator.sync-rounds-out"),
          config.getDuration("tandem.orchestrator.sync-lookahead"));
    }
  }

  /** A dispatched step, until both its outcome and its gradient's application are in. */
  static final class PendingStep {
    /** The trunk version the step was dispatched for (its replica is at least this new). */
    final long version;
    final String task;
    Worker.StepDone done;
    SharedParameters.AppliedStep applied;
    long appliedVersion;

    PendingStep(long version, String task) {
      this.version = version;
      this.task = task;
    }
  }

  private final TrainingPlan plan;
  /** Sync: how many rounds may be out at once. */
  private final Lookahead lookahead;
  /** Sync: a moving average of the steps' compute time, from their outcomes; 0 before any. */
  private long stepNanos;
  private final Map<String, ActorRef<Worker.Command>> ownerOf;
  private final Out out;
  private final Map<ActorRef<Worker.Command>, Integer> credits = new HashMap<>();
  private final TreeMap<Long, PendingStep> pending = new TreeMap<>();
  /** Sync: the rounds out, by the version they compute on, with their steps not reported yet. */
  private final TreeMap<Long, Integer> roundsAwaitingOutcome = new TreeMap<>();
  private Schedule schedule;
  private long dispatched;
  private long trunkVersion;
  /** Sync: the trunk version the latest round computes on; -1 before the first round. */
  private long roundVersion = -1;

  /**
   * @param ownerOf each task's worker; the caller keeps it current when tasks move
   * @param dispatched steps dispatched before (a resumed job: its checkpoint's step)
   * @param trunkVersion the version of the shared modules the job starts from
   * @param lookahead sync: how many rounds may be out at once
   */
  StepDispatch(TrainingPlan plan, Map<String, ActorRef<Worker.Command>> ownerOf,
      Schedule schedule, long dispatched, long trunkVersion, Lookahead lookahead, Out out) {
    this.plan = plan;
    this.lookahead = lookahead;
    this.ownerOf = ownerOf;
    this.schedule = schedule;
    this.dispatched = dispatched;
    this.trunkVersion = trunkVersion;
    this.out = out;
    ownerOf.values().forEach(worker -> credits.put(worker, plan.stepsInFlight()));
  }

  /** Replaces the schedule from the next step on. */
  void schedule(Schedule next) {
    schedule = next;
  }

  /** Steps dispatched so far (a re-run counts once). */
  long dispatched() {
    return dispatched;
  }

  /** The newest version of the shared modules the coordinator heard of. */
  long trunkVersion() {
    return trunkVersion;
  }

  /** Whether no step is out. */
  boolean idle() {
    return pending.isEmpty();
  }

  /** Sends what the rounds (sync) or the credits and the staleness bound (async) allow. */
  void dispatch() {
    if (plan.consistency().async()) {
      dispatchAsync();
    } else {
      int roundsOut = roundsOut();
      while (roundsAwaitingOutcome.size() < roundsOut && dispatchRound()) {
        // the next round too, if the current one is the only one out
      }
    }
  }

  /** A step's outcome: the step, if it was out and had no outcome yet; otherwise null. */
  PendingStep outcome(Worker.StepDone done) {
    PendingStep step = pending.get(done.step());
    if (step == null || step.done != null) {
      return null;
    }
    if (plan.consistency().async()) {
      credits.computeIfPresent(ownerOf.get(done.task()), (w, c) -> c + 1);
    } else {
      outcomeIn(step.version);
      long nanos = Math.max(1, done.computeTime().toNanos());
      stepNanos = stepNanos == 0 ? nanos : stepNanos + (nanos - stepNanos) / 8;
    }
    step.done = done;
    return step;
  }

  /** A new version: the steps it handled that are still out, by number. */
  Map<Long, PendingStep> applied(SharedParameters.VersionApplied applied) {
    // A version with no step of this job's still out is news too.
    trunkVersion = Math.max(trunkVersion, applied.version());
    Map<Long, PendingStep> handled = new TreeMap<>();
    for (SharedParameters.AppliedStep appliedStep : applied.steps()) {
      PendingStep step = markApplied(appliedStep, applied.version());
      if (step != null) {
        handled.put(appliedStep.step(), step);
      }
    }
    return handled;
  }

  /**
   * Step {@code number}'s gradient was applied in place by its worker ({@code DirectTrunk}), as
   * its outcome says: {@link #applied} for that one step, without a report around it.
   */
  void appliedInPlace(long number, long version, long staleness, boolean dropped) {
    markApplied(new SharedParameters.AppliedStep(number, staleness, dropped), version);
  }

  /** Step {@code applied.step()} landed in {@code version}: the step if it is out, else null. */
  private PendingStep markApplied(SharedParameters.AppliedStep applied, long version) {
    // Workers that apply in place report their versions each on its own: not in order.
    trunkVersion = Math.max(trunkVersion, version);
    PendingStep step = pending.get(applied.step());
    if (step != null) {
      step.applied = applied;
      step.appliedVersion = version;
    }
    return step;
  }

  /** Takes step {@code number} off the steps out if its outcome and application are both in. */
  boolean completeIfReady(long number) {
    PendingStep step = pending.get(number);
    if (step == null || step.done == null || step.applied == null) {
      return false;
    }
    pending.remove(number);
    return true;
  }

  /** Steps of {@code tasks} out without an outcome, in step order. */
  List<Long> unreported(Collection<String> tasks) {
    List<Long> numbers = new ArrayList<>();
    pending.forEach((number, step) -> {
      if (step.done == null && tasks.contains(step.task)) {
        numbers.add(number);
      }
    });
    return numbers;
  }

  /**
   * The step a stalled job waits for first: the oldest one out without an outcome that its
   * worker can compute (its version is in; a sync round sent ahead waits for its version),
   * else the oldest one out (its gradient not applied); null when none is out.
   */
  Map.Entry<Long, PendingStep> oldest() {
    for (Map.Entry<Long, PendingStep> entry : pending.entrySet()) {
      if (entry.getValue().done == null && entry.getValue().version <= trunkVersion) {
        return entry;
      }
    }
    return pending.firstEntry();
  }

  /** A worker is gone: no more credit for it. */
  void workerLost(ActorRef<Worker.Command> worker) {
    credits.remove(worker);
  }

  /** Whether the gradient of step {@code number}, out, was applied. */
  boolean gradientApplied(long number) {
    return pending.get(number).applied != null;
  }

  /** Step {@code number} counts as done without its outcome (lost with its worker). */
  void doneWithoutOutcome(long number) {
    PendingStep step = pending.remove(number);
    if (!plan.consistency().async()) {
      outcomeIn(step.version);
    }
  }

  /** Sends step {@code number} again, to its task's worker now, for the same version. */
  void rerun(long number) {
    PendingStep step = pending.get(number);
    ActorRef<Worker.Command> owner = ownerOf.get(step.task);
    if (plan.consistency().async()) {
      // Below zero when the lost worker's steps come on top of this one's own credit.
      credits.merge(owner, -1, Integer::sum);
    }
    out.runStep(owner, number, step.task, step.version);
  }

  /**
   * Sync: the rounds that may be out now: 2 until a step's outcome tells the pace, then as many
   * as cover the lookahead time (a round takes about {@code stepsInFlight} steps' time, its
   * workers computing side by side), within 2 and the maximum.
   */
  int roundsOut() {
    if (stepNanos == 0) {
      return 2;
    }
    long roundNanos = stepNanos * plan.stepsInFlight();
    long rounds = 1 + lookahead.time().toNanos() / roundNanos;
    return (int) Math.max(2, Math.min(lookahead.maxRounds(), rounds));
  }

  /** Sync: one round, as the class comment says; returns whether it sent one. */
  private boolean dispatchRound() {
    long version = roundVersion < 0 ? trunkVersion : roundVersion + 1;
    Map<ActorRef<Worker.Command>, Integer> room = new HashMap<>();
    credits.keySet().forEach(worker -> room.put(worker, plan.stepsInFlight()));
    int steps = 0;
    while (dispatched < plan.maxSteps() && dispatchNext(version, room)) {
      steps++;
    }
    if (steps == 0) {
      return false;
    }
    roundVersion = version;
    roundsAwaitingOutcome.put(version, steps);
    out.expectRound(version, steps);
    return true;
  }

  /** Sync: the outcome of a step of the round on {@code version} is in. */
  private void outcomeIn(long version) {
    roundsAwaitingOutcome.computeIfPresent(version, (v, awaiting) -> awaiting > 1 ? awaiting - 1
        : null);
  }

  /**
   * Async: steps go out while their workers have credit and, under bounded staleness S, while
   * no gradient in flight could end up more than S versions stale: a step's staleness is the
   * versions applied between the replica it read (at least the version known when it was
   * dispatched) and its own update, so every step in flight, the new one included, may still add
   * a version before the oldest one lands. Each step asks for a replica at least as new as the
   * latest version the coordinator knows.
   */
  private void dispatchAsync() {
    Integer bound = plan.consistency().maxStaleness();
    while (dispatched < plan.maxSteps() && (bound == null || worstStaleness() + 1 <= bound)) {
      if (!dispatchNext(trunkVersion, credits)) {
        break;
      }
    }
  }

  /**
   * Sends the schedule's next step, for a replica of at least {@code version}, if its task's
   * worker has room left in {@code room} (async: its credits; sync: the round's); returns whether
   * it did.
   */
  private boolean dispatchNext(long version, Map<ActorRef<Worker.Command>, Integer> room) {
    String task = schedule.peek();
    ActorRef<Worker.Command> worker = ownerOf.get(task);
    if (room.getOrDefault(worker, 0) <= 0) {
      return false;
    }
    schedule.advance();
    room.merge(worker, -1, Integer::sum);
    long step = ++dispatched;
    pending.put(step, new PendingStep(version, task));
    out.runStep(worker, step, task, version);
    return true;
  }

  /**
   * The largest staleness a step in flight can still reach if every other step in flight is
   * applied before it: versions applied since its dispatch plus the others in flight.
   */
  private long worstStaleness() {
    long oldest = Long.MAX_VALUE;
    long unapplied = 0;
    for (PendingStep step : pending.values()) {
      if (step.applied == null) {
        oldest = Math.min(oldest, step.version);
        unapplied++;
      }
    }
    return oldest == Long.MAX_VALUE ? -1 : trunkVersion - oldest + unapplied - 1;
  }

}
