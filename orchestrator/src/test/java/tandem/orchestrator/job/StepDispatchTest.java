package tandem.orchestrator.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import tandem.api.v1.ConsistencySpec;
import tandem.model.spec.TrainingPlan;
import tandem.model.train.StepResult;
import tandem.orchestrator.schedule.Schedule;
import tandem.worker.Worker;

/**
 * {@link StepDispatch} on its own: what goes out when, recorded by a fake {@link
 * StepDispatch.Out}. Two workers {@code a} and {@code b}, one task each ({@link TinyJobs}).
 */
class StepDispatchTest {

  private static final ActorTestKit testKit = ActorTestKit.create();
  private final ActorRef<Worker.Command> a = testKit.<Worker.Command>createTestProbe("a").ref();
  private final ActorRef<Worker.Command> b = testKit.<Worker.Command>createTestProbe("b").ref();
  private final List<String> sent = new ArrayList<>();
  private final Map<String, ActorRef<Worker.Command>> ownerOf = new LinkedHashMap<>();
  private StepDispatch.Lookahead lookahead = new StepDispatch.Lookahead(2, Duration.ofMillis(20));

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private StepDispatch dispatch(TrainingPlan plan) {
    ownerOf.put("binary_plus1", a);
    ownerOf.put("binary_times2", b);
    Map<String, Integer> sizes = Map.of("binary_plus1", 10, "binary_times2", 10);
    Schedule schedule = Schedule.create(plan.schedule(), TinyJobs.TASKS, sizes,
        new SplittableRandom(1));
    return new StepDispatch(plan, ownerOf, schedule, 0, 0, lookahead, new StepDispatch.Out() {
      @Override
      public void runStep(ActorRef<Worker.Command> worker, long step, String task,
          long minTrunkVersion) {
        sent.add((worker == a ? "a" : "b") + " step " + step + " v" + minTrunkVersion);
      }

      @Override
      public void expectRound(long version, int steps) {
        sent.add("round v" + version + " of " + steps);
      }
    });
  }

  private static Worker.StepDone done(long step, String task) {
    return done(step, task, Duration.ZERO);
  }

  private static Worker.StepDone done(long step, String task, Duration compute) {
    return new Worker.StepDone("job", step, task, new StepResult(1.0, Map.of(), 4), 0, "w", step,
        Duration.ZERO, compute);
  }

  private long roundsSent() {
    return sentSinceLast().stream().filter(line -> line.startsWith("round")).count();
  }

  private List<String> sentSinceLast() {
    List<String> copy = List.copyOf(sent);
    sent.clear();
    return copy;
  }

  @Test
  void syncSendsTheNextRoundAheadAndAThirdOnlyOnceTheFirstIsReported() {
    StepDispatch dispatch = dispatch(TinyJobs.plan("mean", 5, 1));
    dispatch.dispatch();
    assertEquals(List.of("a step 1 v0", "b step 2 v0", "round v0 of 2",
        "a step 3 v1", "b step 4 v1", "round v1 of 2"), sentSinceLast());
    dispatch.dispatch();
    assertEquals(List.of(), sentSinceLast(), "two rounds are out");

    assertNotNull(dispatch.outcome(done(1, "binary_plus1")));
    assertNull(dispatch.outcome(done(1, "binary_plus1")), "a second outcome counts once");
    dispatch.dispatch();
    assertEquals(List.of(), sentSinceLast(), "round 0 still has step 2 out");
    dispatch.outcome(done(2, "binary_times2"));
    dispatch.dispatch();
    assertEquals(List.of("a step 5 v2", "round v2 of 1"), sentSinceLast(),
        "the last step, alone in its round (max_steps 5)");
    assertEquals(5, dispatch.dispatched());
    assertTrue(!dispatch.idle());
  }

  @Test
  void syncSendsAsManyRoundsAheadAsCoverTheLookaheadAtTheStepsPace() {
    lookahead = new StepDispatch.Lookahead(6, Duration.ofMillis(1));
    StepDispatch fast = dispatch(TinyJobs.plan("mean", 100, 1));
    fast.dispatch();
    assertEquals(2, roundsSent(), "two rounds before any step tells the pace");
    fast.outcome(done(1, "binary_plus1", Duration.ofNanos(100_000)));
    fast.outcome(done(2, "binary_times2", Duration.ofNanos(100_000)));
    fast.dispatch();
    assertEquals(6, fast.roundsOut(), "1 ms of 100 us rounds is 11, over the maximum");
    assertEquals(5, roundsSent(), "round 0 reported: 5 more, 6 out");

    StepDispatch slow = dispatch(TinyJobs.plan("mean", 100, 1));
    slow.dispatch();
    sentSinceLast();
    slow.outcome(done(1, "binary_plus1", Duration.ofMillis(5)));
    slow.outcome(done(2, "binary_times2", Duration.ofMillis(5)));
    slow.dispatch();
    assertEquals(2, slow.roundsOut(), "5 ms steps: the one computing and the next");
    assertEquals(1, roundsSent());

    StepDispatch medium = dispatch(TinyJobs.plan("mean", 100, 1));
    medium.dispatch();
    sentSinceLast();
    medium.outcome(done(1, "binary_plus1", Duration.ofNanos(300_000)));
    medium.dispatch();
    assertEquals(4, medium.roundsOut(), "1 + 1 ms / 300 us");
  }

  @Test
  void aStepCompletesOnceBothItsOutcomeAndItsApplicationAreIn() {
    StepDispatch dispatch = dispatch(TinyJobs.plan("mean", 2, 1));
    dispatch.dispatch();
    dispatch.outcome(done(1, "binary_plus1"));
    assertEquals(false, dispatch.completeIfReady(1), "not applied yet");
    Map<Long, StepDispatch.PendingStep> handled = dispatch.applied(
        new SharedParameters.VersionApplied(1, List.of(new SharedParameters.AppliedStep(1, 0,
            false), new SharedParameters.AppliedStep(2, 0, false))));
    assertEquals(List.of(1L, 2L), List.copyOf(handled.keySet()));
    assertEquals(1, dispatch.trunkVersion());
    assertTrue(dispatch.completeIfReady(1));
    assertEquals(false, dispatch.completeIfReady(2), "no outcome yet");
    assertEquals(List.of(2L), dispatch.unreported(TinyJobs.TASKS));
  }

  @Test
  void aStepAppliedInPlaceByItsWorkerCompletesWithItsOwnVersionOutOfOrder() {
    StepDispatch dispatch = dispatch(TinyJobs.plan("mean", 2, 1));
    dispatch.dispatch();
    dispatch.outcome(done(1, "binary_plus1"));
    dispatch.outcome(done(2, "binary_plus1"));
    // Step 2's worker applied first (version 1), step 1's after it (version 2).
    dispatch.appliedInPlace(2, 1, 0, false);
    assertEquals(1, dispatch.trunkVersion());
    dispatch.appliedInPlace(1, 2, 1, true);
    dispatch.appliedInPlace(99, 3, 0, false);
    assertEquals(3, dispatch.trunkVersion(), "a version is news even for a step not out");
    StepDispatch.PendingStep one = dispatch.oldest().getValue();
    assertEquals(2, one.appliedVersion);
    assertEquals(1, one.applied.staleness());
    assertTrue(one.applied.dropped());
    assertTrue(dispatch.completeIfReady(1));
    assertTrue(dispatch.completeIfReady(2));
    assertTrue(dispatch.idle());
  }

  @Test
  void asyncUnderBoundedStalenessKeepsAtMostSPlusOneStepsOut() {
    TrainingPlan plan = TinyJobs.plan(TinyJobs.spec()
        .setConsistency(ConsistencySpec.newBuilder().setMode("async").setStepsInFlight(4)
            .setMaxStaleness(1))
        .setStop(tandem.api.v1.StopCondition.newBuilder().setMaxSteps(10)).build());
    StepDispatch dispatch = dispatch(plan);
    dispatch.dispatch();
    assertEquals(List.of("a step 1 v0", "b step 2 v0"), sentSinceLast());
    dispatch.outcome(done(1, "binary_plus1"));
    dispatch.dispatch();
    assertEquals(List.of(), sentSinceLast(), "step 1 is reported but not applied");
    dispatch.applied(new SharedParameters.VersionApplied(1,
        List.of(new SharedParameters.AppliedStep(1, 0, false))));
    dispatch.dispatch();
    assertEquals(List.of(), sentSinceLast(),
        "step 2 read version 0 and lands at staleness 1 at best: one more could make it 2");
    dispatch.applied(new SharedParameters.VersionApplied(2,
        List.of(new SharedParameters.AppliedStep(2, 1, false))));
    dispatch.dispatch();
    assertEquals(List.of("a step 3 v2", "b step 4 v2"), sentSinceLast(),
        "S + 1 = 2 out again, for replicas of the version now known");
  }

  @Test
  void aLostWorkersStepsRunAgainWhereTheirTasksMoved() {
    StepDispatch dispatch = dispatch(TinyJobs.plan("mean", 4, 1));
    dispatch.dispatch();
    sentSinceLast();
    List<Long> lost = dispatch.unreported(List.of("binary_times2"));
    assertEquals(List.of(2L, 4L), lost);
    dispatch.workerLost(b);
    assertEquals(false, dispatch.gradientApplied(2));
    // The coordinator moves the task in the placement it shares with the dispatch.
    ownerOf.put("binary_times2", a);
    lost.forEach(dispatch::rerun);
    assertEquals(List.of("a step 2 v0", "a step 4 v1"), sentSinceLast(),
        "each for the version of its round");
    dispatch.outcome(done(2, "binary_times2"));
    dispatch.outcome(done(1, "binary_plus1"));
    dispatch.dispatch();
    assertEquals(List.of(), sentSinceLast(), "every step is out (max_steps 4)");
  }
}
