package tandem.orchestrator.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.model.spec.TrainingPlan;
import tandem.worker.TrunkSnapshot;
import tandem.worker.Worker;

/**
 * The shared-parameter actor with hand-made modules and gradients, SGD with learning rate 0.5.
 * Version 0: a = [1, 2, 3], b = [0.5, -0.5], c = [10], d = [7, 7]. Round 0: step 1 brings
 * a = [2, 4, 6], b = [1, 1]; step 2 brings b = [3, -1], c = [4]; d is untouched.
 */
class SharedParametersTest {

  private static final ActorTestKit testKit = ActorTestKit.create();
  private static final Duration WAIT = Duration.ofSeconds(5);
  private static final Duration QUIET = Duration.ofMillis(300);
  private static final float TOLERANCE = 1e-6f;
  private static final String JOB = "job-sp";

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static final class Fixture {
    final TestProbe<SharedParameters.Report> coordinator = testKit.createTestProbe();
    final TestProbe<Worker.Command> worker1 = testKit.createTestProbe();
    final TestProbe<Worker.Command> worker2 = testKit.createTestProbe();
    final TrunkSnapshot initial;
    final Map<String, INDArray> initialCopy = new HashMap<>();
    final ActorRef<SharedParameters.Command> actor;
    final ActorRef<Worker.SharedGradients> gradients;

    Fixture(String aggregation) {
      this(TinyJobs.plan(aggregation, 4, 1));
    }

    Fixture(TrainingPlan plan) {
      Map<String, INDArray> modules = TinyJobs.handMadeModules();
      modules.forEach((m, p) -> initialCopy.put(m, p.dup()));
      initial = new TrunkSnapshot(0, modules);
      actor = testKit.spawn(SharedParameters.create(JOB, plan, initial,
          List.of(worker1.ref(), worker2.ref()), coordinator.ref()));
      gradients = coordinator.expectMessageClass(SharedParameters.Ready.class, WAIT).gradients();
    }

    void sendRoundZero() {
      // Arrival order is not step order; the result must not depend on it.
      gradients.tell(new Worker.SharedGradients(JOB, 2, "t2", 0, 0.0,
          Map.of("b", TinyJobs.vector(3, -1), "c", TinyJobs.vector(4)), testKit.system().ignoreRef()));
      gradients.tell(new Worker.SharedGradients(JOB, 1, "t1", 0, 0.0,
          Map.of("a", TinyJobs.vector(2, 4, 6), "b", TinyJobs.vector(1, 1)), testKit.system().ignoreRef()));
    }

    /**
     * The version both workers got (the very same snapshot), and nothing else; both say they
     * hold it, so that the next version comes to them too.
     */
    TrunkSnapshot expectPublished(long version) {
      Worker.OfferTrunkVersion first = worker1.expectMessageClass(Worker.OfferTrunkVersion.class,
          WAIT);
      Worker.OfferTrunkVersion second = worker2.expectMessageClass(
          Worker.OfferTrunkVersion.class, WAIT);
      assertEquals(JOB, first.jobId());
      assertEquals(version, first.snapshot().version());
      assertSame(first.snapshot(), second.snapshot(), "one snapshot shared by reference");
      worker1.expectNoMessage(QUIET);
      worker2.expectNoMessage(Duration.ofMillis(1));
      hold(worker1, first);
      hold(worker2, second);
      return first.snapshot();
    }

    /** {@code worker} says it holds the offered version. */
    void hold(TestProbe<Worker.Command> worker, Worker.OfferTrunkVersion offer) {
      offer.replyTo().tell(new Worker.TrunkVersionHeld(JOB, offer.snapshot().version(),
          worker.ref()));
    }

    void expectNothingPublished() {
      worker1.expectNoMessage(QUIET);
      worker2.expectNoMessage(Duration.ofMillis(1));
      coordinator.expectNoMessage(Duration.ofMillis(1));
    }
  }

  @Test
  void startsBySendingReadyToTheCoordinator() {
    Fixture f = new Fixture("mean");
    f.expectNothingPublished();
  }

  @Test
  void appliesTheMeanOfARoundOncePerModuleOverTheStepsThatUsedIt() {
    Fixture f = new Fixture("mean");
    f.actor.tell(new SharedParameters.ExpectRound(0, 2));
    f.sendRoundZero();
    TrunkSnapshot next = f.expectPublished(1);

    assertArrayEquals(new float[] {0, 0, 0}, floats(next, "a"), TOLERANCE); // 1-1, 2-2, 3-3
    assertArrayEquals(new float[] {-0.5f, -0.5f}, floats(next, "b"), TOLERANCE); // b - 0.5*[2, 0]
    assertArrayEquals(new float[] {8}, floats(next, "c"), TOLERANCE); // 10 - 0.5*4
    assertSame(f.initial.parameters().get("d"), next.parameters().get("d"),
        "an untouched module keeps its array");
    assertEquals(List.of("a", "b", "c", "d"), List.copyOf(next.parameters().keySet()));

    assertEquals(new SharedParameters.VersionApplied(1, List.of(new SharedParameters.AppliedStep(1, 0, false), new SharedParameters.AppliedStep(2, 0, false))),
        f.coordinator.expectMessageClass(SharedParameters.VersionApplied.class, WAIT));

    // The published version 0 was never written.
    f.initialCopy.forEach((module, copy) -> assertArrayEquals(copy.toFloatVector(),
        f.initial.parameters().get(module).toFloatVector(), 0f, module));
  }

  @Test
  void sumAggregationUsesTheSum() {
    Fixture f = new Fixture("sum");
    f.actor.tell(new SharedParameters.ExpectRound(0, 2));
    f.sendRoundZero();
    TrunkSnapshot next = f.expectPublished(1);
    assertArrayEquals(new float[] {0, 0, 0}, floats(next, "a"), TOLERANCE);
    assertArrayEquals(new float[] {-1.5f, -0.5f}, floats(next, "b"), TOLERANCE); // b - 0.5*[4, 0]
    assertArrayEquals(new float[] {8}, floats(next, "c"), TOLERANCE);
  }

  @Test
  void gradientsArrivingBeforeTheRoundIsAnnouncedApplyOnceItIs() {
    Fixture f = new Fixture("mean");
    f.sendRoundZero();
    f.expectNothingPublished();
    f.actor.tell(new SharedParameters.ExpectRound(0, 2));
    TrunkSnapshot next = f.expectPublished(1);
    assertArrayEquals(new float[] {-0.5f, -0.5f}, floats(next, "b"), TOLERANCE);
    f.coordinator.expectMessageClass(SharedParameters.VersionApplied.class, WAIT);
  }

  @Test
  void anIncompleteRoundIsNotApplied() {
    Fixture f = new Fixture("mean");
    f.actor.tell(new SharedParameters.ExpectRound(0, 3));
    f.sendRoundZero();
    f.expectNothingPublished();
    f.gradients.tell(new Worker.SharedGradients(JOB, 3, "t1", 0, 0.0, Map.of("d", TinyJobs.vector(2, -2)),
        testKit.system().ignoreRef()));
    TrunkSnapshot next = f.expectPublished(1);
    assertArrayEquals(new float[] {6, 8}, floats(next, "d"), TOLERANCE); // 7 - 0.5*[2, -2]
    assertEquals(new SharedParameters.VersionApplied(1, List.of(
        new SharedParameters.AppliedStep(1, 0, false), new SharedParameters.AppliedStep(2, 0, false),
        new SharedParameters.AppliedStep(3, 0, false))),
        f.coordinator.expectMessageClass(SharedParameters.VersionApplied.class, WAIT));
  }

  @Test
  void aSecondGradientForTheSameStepCountsOnce() {
    Fixture f = new Fixture("mean");
    f.actor.tell(new SharedParameters.ExpectRound(0, 3));
    f.sendRoundZero();
    // Step 2 re-run after its worker was lost: the round must still wait for step 3.
    f.gradients.tell(new Worker.SharedGradients(JOB, 2, "t2", 0, 0.0,
        Map.of("b", TinyJobs.vector(100, 100), "c", TinyJobs.vector(100)), testKit.system().ignoreRef()));
    f.expectNothingPublished();
    f.gradients.tell(new Worker.SharedGradients(JOB, 3, "t1", 0, 0.0, Map.of("d", TinyJobs.vector(2, -2)),
        testKit.system().ignoreRef()));
    TrunkSnapshot next = f.expectPublished(1);
    assertArrayEquals(new float[] {6, 8}, floats(next, "d"), TOLERANCE);
    assertEquals(3, f.coordinator.expectMessageClass(SharedParameters.VersionApplied.class, WAIT)
        .steps().size());
  }

  @Test
  void theNextRoundBuildsOnTheNewVersion() {
    Fixture f = new Fixture("mean");
    f.actor.tell(new SharedParameters.ExpectRound(0, 2));
    f.sendRoundZero();
    TrunkSnapshot first = f.expectPublished(1);
    f.coordinator.expectMessageClass(SharedParameters.VersionApplied.class, WAIT);

    f.actor.tell(new SharedParameters.ExpectRound(1, 1));
    f.gradients.tell(new Worker.SharedGradients(JOB, 3, "t1", 1, 0.0, Map.of("c", TinyJobs.vector(-2)),
        testKit.system().ignoreRef()));
    TrunkSnapshot second = f.expectPublished(2);
    assertArrayEquals(new float[] {9}, floats(second, "c"), TOLERANCE); // 8 + 0.5*2
    assertSame(first.parameters().get("b"), second.parameters().get("b"));
    assertSame(f.initial.parameters().get("d"), second.parameters().get("d"));
    assertArrayEquals(new float[] {8}, floats(first, "c"), 0f, "version 1 was written");
    assertEquals(new SharedParameters.VersionApplied(2, List.of(new SharedParameters.AppliedStep(3, 0, false))),
        f.coordinator.expectMessageClass(SharedParameters.VersionApplied.class, WAIT));
  }

  /**
   * Rounds 1 and 2 announced ({@code steps} each) besides round 0, which is applied: its report
   * is held back, since two rounds are still to come.
   */
  private static Fixture roundZeroAppliedWithTwoRoundsAhead(int steps) {
    Fixture f = new Fixture("mean");
    f.actor.tell(new SharedParameters.ExpectRound(0, 2));
    f.actor.tell(new SharedParameters.ExpectRound(1, steps));
    f.actor.tell(new SharedParameters.ExpectRound(2, steps));
    f.sendRoundZero();
    f.expectPublished(1);
    f.coordinator.expectNoMessage(QUIET);
    return f;
  }

  @Test
  void syncHoldsItsReportsWhileRoundsAreAnnouncedAheadAndSendsThemTogetherInOrder() {
    Fixture f = roundZeroAppliedWithTwoRoundsAhead(1);
    f.gradients.tell(new Worker.SharedGradients(JOB, 3, "t1", 1, 0.0, Map.of("c", TinyJobs.vector(-2)),
        testKit.system().ignoreRef()));
    f.expectPublished(2);
    // Only round 2 is left to apply: the coordinator must hear of both versions now, in one
    // message.
    assertEquals(new SharedParameters.VersionsApplied(List.of(
        new SharedParameters.VersionApplied(1, List.of(
            new SharedParameters.AppliedStep(1, 0, false),
            new SharedParameters.AppliedStep(2, 0, false))),
        new SharedParameters.VersionApplied(2, List.of(
            new SharedParameters.AppliedStep(3, 0, false))))),
        f.coordinator.expectMessageClass(SharedParameters.VersionsApplied.class, WAIT));
    f.coordinator.expectNoMessage(QUIET);
  }

  @Test
  void aWorkerThatStopsSendsTheReportsHeldBack() {
    Fixture f = roundZeroAppliedWithTwoRoundsAhead(2);
    // The coordinator moves the lost worker's steps by which gradients are applied.
    f.worker2.stop();
    assertEquals(1, f.coordinator.expectMessageClass(SharedParameters.VersionApplied.class, WAIT)
        .version());
  }

  @Test
  void getParametersReturnsCopiesOfTheCurrentVersion() {
    Fixture f = new Fixture("mean");
    TestProbe<SharedParameters.Parameters> replies = testKit.createTestProbe();
    f.actor.tell(new SharedParameters.GetParameters(replies.ref()));
    SharedParameters.Parameters parameters = replies.expectMessageClass(
        SharedParameters.Parameters.class, WAIT);
    assertEquals(0, parameters.version());
    assertEquals(List.of("a", "b", "c", "d"), List.copyOf(parameters.parameters().keySet()));
    parameters.parameters().forEach((module, copy) -> {
      assertNotSame(f.initial.parameters().get(module), copy, module);
      assertArrayEquals(f.initialCopy.get(module).toFloatVector(), copy.toFloatVector(), 0f);
    });
    parameters.parameters().get("a").addi(100);
    assertArrayEquals(new float[] {1, 2, 3}, floats(f.initial, "a"), 0f);

    f.actor.tell(new SharedParameters.ExpectRound(0, 2));
    f.sendRoundZero();
    TrunkSnapshot next = f.expectPublished(1);
    f.actor.tell(new SharedParameters.GetParameters(replies.ref()));
    SharedParameters.Parameters after = replies.expectMessageClass(
        SharedParameters.Parameters.class, WAIT);
    assertEquals(1, after.version());
    assertArrayEquals(floats(next, "b"), after.parameters().get("b").toFloatVector(), 0f);
  }

  private static float[] floats(TrunkSnapshot snapshot, String module) {
    return snapshot.parameters().get(module).toFloatVector();
  }

  /** A gradient {@code c = [gradient]} of step {@code step} computed on version {@code read}. */
  private static SharedParameters.VersionApplied asyncGradient(Fixture f, long step, long read,
      float gradient) {
    f.gradients.tell(new Worker.SharedGradients(JOB, step, "t1", read, 0.0,
        Map.of("c", TinyJobs.vector(gradient)), testKit.system().ignoreRef()));
    return f.coordinator.expectMessageClass(SharedParameters.VersionApplied.class, WAIT);
  }

  /** The version {@code worker} gets next, which must be {@code version}. */
  private static Worker.OfferTrunkVersion offer(TestProbe<Worker.Command> worker, long version) {
    Worker.OfferTrunkVersion offer = worker.expectMessageClass(Worker.OfferTrunkVersion.class,
        WAIT);
    assertEquals(version, offer.snapshot().version());
    return offer;
  }

  private static INDArray c(Worker.OfferTrunkVersion offer) {
    return offer.snapshot().parameters().get("c");
  }

  @Test
  void asyncAppliesEachGradientOnArrivalAndReportsItsStaleness() {
    Fixture f = new Fixture(TinyJobs.asyncPlan("apply", 0));
    assertEquals(new SharedParameters.VersionApplied(1,
        List.of(new SharedParameters.AppliedStep(1, 0, false))), asyncGradient(f, 1, 0, 1));
    assertArrayEquals(new float[] {9.5f}, floats(f.expectPublished(1), "c"), TOLERANCE);
    // Computed on version 0, met version 1: applied as it is under "apply".
    assertEquals(new SharedParameters.VersionApplied(2,
        List.of(new SharedParameters.AppliedStep(2, 1, false))), asyncGradient(f, 2, 0, 4));
    assertArrayEquals(new float[] {7.5f}, floats(f.expectPublished(2), "c"), TOLERANCE);
  }

  @Test
  void asyncDropsAGradientStalerThanTheLimitAndMakesNoVersionForIt() {
    Fixture f = new Fixture(TinyJobs.asyncPlan("drop", 1));
    asyncGradient(f, 1, 0, 1);
    f.expectPublished(1);
    // Staleness 1, the limit: applied.
    assertEquals(new SharedParameters.AppliedStep(2, 1, false),
        asyncGradient(f, 2, 0, 1).steps().get(0));
    f.expectPublished(2);
    // Staleness 2: dropped, the version stays 2.
    assertEquals(new SharedParameters.VersionApplied(2,
        List.of(new SharedParameters.AppliedStep(3, 2, true))), asyncGradient(f, 3, 0, 100));
    f.expectNothingPublished();
    TestProbe<SharedParameters.Parameters> replies = testKit.createTestProbe();
    f.actor.tell(new SharedParameters.GetParameters(replies.ref()));
    SharedParameters.Parameters parameters = replies.receiveMessage(WAIT);
    assertEquals(2, parameters.version());
    assertArrayEquals(new float[] {9}, parameters.parameters().get("c").toFloatVector(),
        TOLERANCE); // 10 - 0.5 - 0.5: step 3's 100 never applied
  }

  @Test
  void asyncScalesAStaleGradientByOneOverOnePlusItsStaleness() {
    Fixture f = new Fixture(TinyJobs.asyncPlan("scale", 0));
    asyncGradient(f, 1, 0, 1);
    f.expectPublished(1); // c = 9.5
    assertEquals(new SharedParameters.AppliedStep(2, 1, false),
        asyncGradient(f, 2, 0, 4).steps().get(0));
    // 9.5 - 0.5 * 4 / 2; unscaled it would be 7.5.
    assertArrayEquals(new float[] {8.5f}, floats(f.expectPublished(2), "c"), TOLERANCE);
    asyncGradient(f, 3, 0, 6);
    // Staleness 2: 8.5 - 0.5 * 6 / 3.
    assertArrayEquals(new float[] {7.5f}, floats(f.expectPublished(3), "c"), TOLERANCE);
  }

  @Test
  void aSlowWorkerHasAtMostOneVersionOnItsWayAndThenGetsOnlyTheNewest() {
    Fixture f = new Fixture(TinyJobs.asyncPlan("apply", 0));
    for (long step = 1; step <= 10; step++) {
      asyncGradient(f, step, step - 1, 1);
      f.hold(f.worker1, offer(f.worker1, step));
    }
    // Worker 2 never said it holds version 1: ten versions made, one sent to it.
    Worker.OfferTrunkVersion first = offer(f.worker2, 1);
    f.worker2.expectNoMessage(QUIET);
    f.hold(f.worker2, first);
    offer(f.worker2, 10);
    f.worker2.expectNoMessage(QUIET);
  }

  @Test
  void asyncReusesAVersionsArrayOnlyOnceEveryWorkerHoldsANewerOne() {
    Fixture f = new Fixture(TinyJobs.asyncPlan("apply", 0));
    asyncGradient(f, 1, 0, 1);
    Worker.OfferTrunkVersion v1 = offer(f.worker1, 1);
    Worker.OfferTrunkVersion v1second = offer(f.worker2, 1);
    assertNotSame(f.initial.parameters().get("c"), c(v1), "the job's starting arrays are kept");
    f.hold(f.worker1, v1);
    asyncGradient(f, 2, 1, 1);
    Worker.OfferTrunkVersion v2 = offer(f.worker1, 2);
    f.hold(f.worker1, v2);
    asyncGradient(f, 3, 2, 1);
    Worker.OfferTrunkVersion v3 = offer(f.worker1, 3);
    f.hold(f.worker1, v3);
    // Worker 2 still holds version 0: nothing is reused.
    assertNotSame(c(v1), c(v3));
    assertNotSame(c(v2), c(v3));
    f.hold(f.worker2, v1second);
    Worker.OfferTrunkVersion v3second = offer(f.worker2, 3);
    asyncGradient(f, 4, 3, 1);
    Worker.OfferTrunkVersion v4 = offer(f.worker1, 4);
    f.hold(f.worker1, v4);
    assertNotSame(c(v1), c(v4), "worker 2 holds version 1");
    f.hold(f.worker2, v3second);
    offer(f.worker2, 4);
    asyncGradient(f, 5, 4, 1);
    assertSame(c(v1), c(offer(f.worker1, 5)),
        "nobody holds version 1 or 2 any more: version 1's array holds version 5");
  }

  @Test
  void aStoppedWorkerHoldsNoVersionBack() {
    Fixture f = new Fixture(TinyJobs.asyncPlan("apply", 0));
    f.worker2.stop();
    testKit.createTestProbe().expectTerminated(f.worker2.ref(), WAIT);
    asyncGradient(f, 1, 0, 1);
    Worker.OfferTrunkVersion v1 = offer(f.worker1, 1);
    f.hold(f.worker1, v1);
    asyncGradient(f, 2, 1, 1);
    f.hold(f.worker1, offer(f.worker1, 2));
    asyncGradient(f, 3, 2, 1);
    // Worker 2 never held anything but version 0; stopped, it holds nothing back.
    assertSame(c(v1), c(offer(f.worker1, 3)));
  }

  @Test
  void aWorkerThatStopsMidRoundLeavesTheActorServingAndTheReRunClosesTheRound() {
    Fixture f = new Fixture("mean");
    f.actor.tell(new SharedParameters.ExpectRound(0, 2));
    f.gradients.tell(new Worker.SharedGradients(JOB, 1, "t1", 0, 0.0,
        Map.of("a", TinyJobs.vector(2, 4, 6), "b", TinyJobs.vector(1, 1)), testKit.system().ignoreRef()));
    // Worker 2 stops with step 2 in flight: its gradient never comes.
    f.worker2.stop();
    TestProbe<SharedParameters.State> states = testKit.createTestProbe();
    f.actor.tell(new SharedParameters.GetState(states.ref()));
    assertEquals(0, states.receiveMessage(WAIT).version(), "answers while the round is open");
    // The coordinator moved step 2 to worker 1, which ran it again.
    f.gradients.tell(new Worker.SharedGradients(JOB, 2, "t2", 0, 0.0,
        Map.of("b", TinyJobs.vector(3, -1), "c", TinyJobs.vector(4)), testKit.system().ignoreRef()));
    assertArrayEquals(new float[] {-0.5f, -0.5f},
        floats(offer(f.worker1, 1).snapshot(), "b"), TOLERANCE);
    assertEquals(1, f.coordinator.expectMessageClass(SharedParameters.VersionApplied.class, WAIT)
        .version());
    f.actor.tell(new SharedParameters.GetState(states.ref()));
    assertEquals(1, states.receiveMessage(WAIT).version(), "still serving");
  }

  @Test
  void aCoordinatorThatStopsMidRoundLeavesTheActorServing() {
    Fixture f = new Fixture("mean");
    f.actor.tell(new SharedParameters.ExpectRound(0, 2));
    f.coordinator.stop();
    f.sendRoundZero();
    f.expectPublished(1);
    TestProbe<SharedParameters.Parameters> replies = testKit.createTestProbe();
    f.actor.tell(new SharedParameters.GetParameters(replies.ref()));
    assertEquals(1, replies.receiveMessage(WAIT).version());
  }

  @Test
  void aGradientOfAModuleThatIsNotSharedStopsTheActorForItsCoordinatorToSee() {
    Fixture f = new Fixture(TinyJobs.asyncPlan("apply", 0));
    f.gradients.tell(new Worker.SharedGradients(JOB, 1, "t1", 0, 0.0,
        Map.of("no-such-module", TinyJobs.vector(1)), testKit.system().ignoreRef()));
    testKit.createTestProbe().expectTerminated(f.actor, WAIT);
  }
}
