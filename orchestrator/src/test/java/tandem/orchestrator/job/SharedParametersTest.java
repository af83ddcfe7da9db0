package tandem.orchestrator.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
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
      Map<String, INDArray> modules = new LinkedHashMap<>();
      modules.put("a", vector(1, 2, 3));
      modules.put("b", vector(0.5f, -0.5f));
      modules.put("c", vector(10));
      modules.put("d", vector(7, 7));
      modules.forEach((m, p) -> initialCopy.put(m, p.dup()));
      initial = new TrunkSnapshot(0, modules);
      actor = testKit.spawn(SharedParameters.create(JOB, plan, initial,
          List.of(worker1.ref(), worker2.ref()), coordinator.ref()));
      gradients = coordinator.expectMessageClass(SharedParameters.Ready.class, WAIT).gradients();
    }

    void sendRoundZero() {
      // Arrival order is not step order; the result must not depend on it.
      gradients.tell(new Worker.SharedGradients(JOB, 2, "t2", 0, 0.0,
          Map.of("b", vector(3, -1), "c", vector(4)), testKit.system().ignoreRef()));
      gradients.tell(new Worker.SharedGradients(JOB, 1, "t1", 0, 0.0,
          Map.of("a", vector(2, 4, 6), "b", vector(1, 1)), testKit.system().ignoreRef()));
    }

    /** The version both workers got (the very same snapshot), and nothing else. */
    TrunkSnapshot expectPublished(long version) {
      Worker.NewTrunkVersion first = worker1.expectMessageClass(Worker.NewTrunkVersion.class, WAIT);
      Worker.NewTrunkVersion second = worker2.expectMessageClass(Worker.NewTrunkVersion.class,
          WAIT);
      assertEquals(JOB, first.jobId());
      assertEquals(version, first.snapshot().version());
      assertSame(first.snapshot(), second.snapshot(), "one snapshot shared by reference");
      worker1.expectNoMessage(QUIET);
      worker2.expectNoMessage(Duration.ofMillis(1));
      return first.snapshot();
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
    f.gradients.tell(new Worker.SharedGradients(JOB, 3, "t1", 0, 0.0, Map.of("d", vector(2, -2)),
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
        Map.of("b", vector(100, 100), "c", vector(100)), testKit.system().ignoreRef()));
    f.expectNothingPublished();
    f.gradients.tell(new Worker.SharedGradients(JOB, 3, "t1", 0, 0.0, Map.of("d", vector(2, -2)),
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
    f.gradients.tell(new Worker.SharedGradients(JOB, 3, "t1", 1, 0.0, Map.of("c", vector(-2)),
        testKit.system().ignoreRef()));
    TrunkSnapshot second = f.expectPublished(2);
    assertArrayEquals(new float[] {9}, floats(second, "c"), TOLERANCE); // 8 + 0.5*2
    assertSame(first.parameters().get("b"), second.parameters().get("b"));
    assertSame(f.initial.parameters().get("d"), second.parameters().get("d"));
    assertArrayEquals(new float[] {8}, floats(first, "c"), 0f, "version 1 was written");
    assertEquals(new SharedParameters.VersionApplied(2, List.of(new SharedParameters.AppliedStep(3, 0, false))),
        f.coordinator.expectMessageClass(SharedParameters.VersionApplied.class, WAIT));
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

  @Test
  void asyncReusesAVersionsArrayOnlyOnceEveryWorkerHasComputedOnANewerOne() {
    Fixture f = new Fixture(TinyJobs.plan(TinyJobs.spec()
        .setStop(tandem.api.v1.StopCondition.newBuilder().setMaxSteps(100))
        .setConsistency(tandem.api.v1.ConsistencySpec.newBuilder().setMode("async")
            .setStepsInFlight(1))
        .build()));
    // Versions 1 and 2, each from a step on version 0 (worker 2 stays there).
    INDArray v1 = asyncStep(f, 1, f.worker1, 0).parameters().get("c");
    INDArray v2 = asyncStep(f, 2, f.worker2, 0).parameters().get("c");
    assertNotSame(f.initial.parameters().get("c"), v1, "the job's starting arrays are kept");
    assertNotSame(v1, v2);
    // Worker 1 moved on to version 2, worker 2 may still read version 1: nothing is reused.
    INDArray v3 = asyncStep(f, 3, f.worker1, 2).parameters().get("c");
    assertNotSame(v1, v3);
    assertNotSame(v2, v3);
    // Worker 2 computed on version 3, worker 1 on 2: version 1 is read by nobody any more.
    assertSame(v1, asyncStep(f, 4, f.worker2, 3).parameters().get("c"),
        "version 1's array holds version 4");
    // Both on version 3 now: version 2's array goes next.
    assertSame(v2, asyncStep(f, 5, f.worker1, 3).parameters().get("c"),
        "version 2's array holds version 5");
  }

  /**
   * Sends worker {@code worker}'s gradient for step {@code step}, computed on version
   * {@code read}, and returns the version it made, as published to both workers.
   */
  private static TrunkSnapshot asyncStep(Fixture f, long step, TestProbe<Worker.Command> worker,
      long read) {
    f.gradients.tell(new Worker.SharedGradients(JOB, step, "t1", read, 0.0,
        Map.of("c", vector(1)), worker.ref()));
    TrunkSnapshot published = null;
    for (TestProbe<Worker.Command> probe : List.of(f.worker1, f.worker2)) {
      while (true) {
        Worker.Command message = probe.receiveMessage(WAIT);
        if (message instanceof Worker.NewTrunkVersion version) {
          published = version.snapshot();
          break;
        }
      }
    }
    f.coordinator.expectMessageClass(SharedParameters.VersionApplied.class, WAIT);
    assertEquals(step, published.version());
    return published;
  }

  private static INDArray vector(float... values) {
    return Nd4j.createFromArray(values);
  }
}
