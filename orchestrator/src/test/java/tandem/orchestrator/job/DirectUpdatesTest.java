package tandem.orchestrator.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.model.spec.TrainingPlan;
import tandem.worker.DirectTrunk;
import tandem.worker.TrunkSnapshot;
import tandem.worker.Worker;

/**
 * The shared-parameter actor of an async job whose workers update the shared modules in place
 * ({@link DirectTrunk}): the same modules as {@link SharedParametersTest} (c = [10], SGD with
 * learning rate 0.5), the workers test probes that call the direct trunk as a worker would.
 */
class DirectUpdatesTest {

  private static final ActorTestKit testKit = ActorTestKit.create();
  private static final Duration WAIT = Duration.ofSeconds(5);
  private static final Duration QUIET = Duration.ofMillis(300);
  private static final float TOLERANCE = 1e-6f;
  private static final String JOB = "job-direct";

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static final class Fixture {
    final TestProbe<SharedParameters.Report> coordinator = testKit.createTestProbe();
    final TestProbe<Worker.Command> worker1 = testKit.createTestProbe();
    final TestProbe<Worker.Command> worker2 = testKit.createTestProbe();
    final TrunkSnapshot initial;
    final ActorRef<SharedParameters.Command> actor;
    final DirectTrunk direct;

    Fixture(String staleGradients, int dropStaleness) {
      TrainingPlan plan = TinyJobs.asyncPlan(staleGradients, dropStaleness);
      initial = new TrunkSnapshot(0, TinyJobs.handMadeModules());
      List<ActorRef<Worker.Command>> workers = List.of(worker1.ref(), worker2.ref());
      assertEquals(true, SharedParameters.directFor(plan, workers), "local workers, async");
      actor = testKit.spawn(SharedParameters.create(JOB, plan, initial, Map.of(), workers,
          coordinator.ref(), true));
      direct = coordinator.expectMessageClass(SharedParameters.Ready.class, WAIT).direct();
      assertNotNull(direct);
    }

    /** Step {@code step}'s gradient {@code c = [gradient]}, computed on version {@code read}. */
    DirectTrunk.Applied apply(long step, long read, float gradient) {
      return direct.apply(new Worker.SharedGradients(JOB, step, "t1", read, 0.0,
          Map.of("c", TinyJobs.vector(gradient)), worker1.ref()));
    }

    SharedParameters.Parameters parameters() {
      TestProbe<SharedParameters.Parameters> replies = testKit.createTestProbe();
      actor.tell(new SharedParameters.GetParameters(replies.ref()));
      return replies.receiveMessage(WAIT);
    }
  }

  @Test
  void eachStepIsAppliedInPlaceWithItsStalenessAndNoMessage() {
    Fixture f = new Fixture("apply", 0);
    assertSame(f.initial, f.direct.newest(f.worker1.ref()));
    assertEquals(new DirectTrunk.Applied(1, 0, false), f.apply(1, 0, 1));
    TrunkSnapshot v1 = f.direct.newest(f.worker2.ref());
    assertEquals(1, v1.version());
    assertArrayEquals(new float[] {9.5f}, v1.parameters().get("c").toFloatVector(), TOLERANCE);
    // Computed on version 0, met version 1: applied as it is under "apply".
    assertEquals(new DirectTrunk.Applied(2, 1, false), f.apply(2, 0, 4));
    // The workers pull versions and report to the coordinator themselves.
    f.coordinator.expectNoMessage(QUIET);
    f.worker1.expectNoMessage(Duration.ofMillis(1));
    f.worker2.expectNoMessage(Duration.ofMillis(1));
    SharedParameters.Parameters now = f.parameters();
    assertEquals(2, now.version());
    assertArrayEquals(new float[] {7.5f}, now.parameters().get("c").toFloatVector(), TOLERANCE);
  }

  @Test
  void stepsAppliedTogetherAreEachAppliedInOrderAsIfOneByOne() {
    Fixture together = new Fixture("drop", 1);
    Fixture oneByOne = new Fixture("drop", 1);
    together.apply(1, 0, 1);
    oneByOne.apply(1, 0, 1);
    // Steps 2 and 3 computed on version 0: step 2 is 1 version stale, step 3 then 2, dropped.
    List<DirectTrunk.Applied> applied = together.direct.applyAll(List.of(
        new Worker.SharedGradients(JOB, 2, "t1", 0, 0.0, Map.of("c", TinyJobs.vector(2)),
            together.worker1.ref()),
        new Worker.SharedGradients(JOB, 3, "t1", 0, 0.0, Map.of("c", TinyJobs.vector(100)),
            together.worker1.ref())));
    assertEquals(List.of(oneByOne.apply(2, 0, 2), oneByOne.apply(3, 0, 100)), applied);
    assertEquals(List.of(new DirectTrunk.Applied(2, 1, false), new DirectTrunk.Applied(2, 2, true)),
        applied);
    assertArrayEquals(oneByOne.parameters().parameters().get("c").toFloatVector(),
        together.parameters().parameters().get("c").toFloatVector(), 0f);
    assertEquals(2, together.direct.newest(together.worker2.ref()).version());
  }

  @Test
  void manyStepsAppliedTogetherGiveTheFloatsVersionsAndStalenessOfOneByOne() {
    for (String policy : List.of("apply", "scale")) {
      Fixture together = new Fixture(policy, 0);
      Fixture oneByOne = new Fixture(policy, 0);
      together.apply(1, 0, 1);
      oneByOne.apply(1, 0, 1);
      // (step, version read, gradient); step 1 again in the middle is a re-run: it counts once.
      float[][] steps = {{2, 1, 2}, {3, 0, -3}, {1, 0, 50}, {4, 1, 0.25f}, {5, 1, 7}};
      List<Worker.SharedGradients> gradients = new java.util.ArrayList<>();
      List<DirectTrunk.Applied> expected = new java.util.ArrayList<>();
      for (float[] step : steps) {
        gradients.add(new Worker.SharedGradients(JOB, (long) step[0], "t1", (long) step[1], 0.0,
            Map.of("c", TinyJobs.vector(step[2])), together.worker1.ref()));
        expected.add(oneByOne.apply((long) step[0], (long) step[1], step[2]));
      }
      assertEquals(expected, together.direct.applyAll(gradients), policy);
      assertEquals(new DirectTrunk.Applied(5, 3, false), expected.get(4), policy);
      assertEquals(5, together.direct.newest(together.worker2.ref()).version(), policy);
      assertArrayEquals(oneByOne.parameters().parameters().get("c").toFloatVector(),
          together.parameters().parameters().get("c").toFloatVector(), 0f, policy);
    }
  }

  @Test
  void anUpdateUnlessBusyAppliesNothingWhileAnotherRunsAndAppliesOnceItEnded() throws Exception {
    Fixture f = new Fixture("apply", 0);
    java.util.concurrent.CountDownLatch inside = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    // The shared-parameter actor's reads take the same lock as updates (a checkpoint here).
    Thread reader = new Thread(() -> ((DirectUpdates) f.direct).read(master -> {
      inside.countDown();
      try {
        return release.await(10, java.util.concurrent.TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    }));
    reader.start();
    assertEquals(true, inside.await(10, java.util.concurrent.TimeUnit.SECONDS));
    List<Worker.SharedGradients> step1 = List.of(new Worker.SharedGradients(JOB, 1, "t1", 0, 0.0,
        Map.of("c", TinyJobs.vector(1)), f.worker1.ref()));
    assertEquals(java.util.Optional.empty(), f.direct.applyAllUnlessBusy(step1));
    release.countDown();
    reader.join(WAIT.toMillis());
    // Nothing was applied: the same step now makes version 1, c = 10 - 0.5 * 1.
    assertEquals(java.util.Optional.of(List.of(new DirectTrunk.Applied(1, 0, false))),
        f.direct.applyAllUnlessBusy(step1));
    assertArrayEquals(new float[] {9.5f}, f.parameters().parameters().get("c").toFloatVector(),
        TOLERANCE);
  }

  @Test
  void theStaleGradientPolicyAppliesAndAReRunCountsOnce() {
    Fixture f = new Fixture("drop", 1);
    f.apply(1, 0, 1);
    assertEquals(new DirectTrunk.Applied(2, 1, false), f.apply(2, 0, 1));
    // Staleness 2: dropped, the version stays 2.
    assertEquals(new DirectTrunk.Applied(2, 2, true), f.apply(3, 0, 100));
    // Step 2 again (re-run after its worker was lost): not applied a second time.
    assertEquals(new DirectTrunk.Applied(2, 1, true), f.apply(2, 1, 100));
    assertArrayEquals(new float[] {9}, f.parameters().parameters().get("c").toFloatVector(),
        TOLERANCE);
  }

  @Test
  void aVersionsArrayIsReusedOnlyOnceNoWorkerReadsIt() {
    Fixture f = new Fixture("apply", 0);
    f.apply(1, 0, 1);
    INDArray v1 = f.direct.newest(f.worker1.ref()).parameters().get("c");
    assertNotSame(f.initial.parameters().get("c"), v1, "the job's starting arrays are kept");
    f.direct.newest(f.worker2.ref());
    f.apply(2, 1, 1);
    f.direct.newest(f.worker2.ref());
    f.apply(3, 2, 1);
    INDArray v3 = f.direct.newest(f.worker2.ref()).parameters().get("c");
    assertNotSame(v1, v3, "worker 1 reads version 1");
    f.apply(4, 3, 1);
    assertNotSame(v1, f.direct.newest(f.worker2.ref()).parameters().get("c"));
    f.direct.newest(f.worker1.ref()); // now reads version 4: 1 to 3 are read by nobody
    f.apply(5, 4, 1);
    assertSame(v1, f.direct.newest(f.worker1.ref()).parameters().get("c"),
        "version 1's array holds version 5");
  }

  @Test
  void aStoppedWorkerHoldsNoArrayBack() {
    Fixture f = new Fixture("apply", 0);
    f.direct.newest(f.worker2.ref()); // worker 2 reads version 0 ...
    f.apply(1, 0, 1);
    INDArray v1 = f.direct.newest(f.worker1.ref()).parameters().get("c");
    DirectUpdates updates = (DirectUpdates) f.direct;
    assertEquals(0, updates.oldestRead());
    f.worker2.stop(); // ... and stops: the actor, which watches it, forgets what it read
    f.coordinator.awaitAssert(WAIT, () -> {
      assertEquals(1, updates.oldestRead());
      return null;
    });
    f.apply(2, 1, 1);
    f.direct.newest(f.worker1.ref());
    f.apply(3, 2, 1);
    assertSame(v1, f.direct.newest(f.worker1.ref()).parameters().get("c"),
        "nobody reads version 1 any more: its array holds version 3");
  }

  @Test
  void onlyAsyncJobsAndSyncJobsOnOneWorkerUpdateInPlace() {
    TrainingPlan sync = TinyJobs.plan("mean", 4, 1);
    List<ActorRef<Worker.Command>> workers = List.of(testKit.<Worker.Command>createTestProbe().ref());
    List<ActorRef<Worker.Command>> two = List.of(workers.get(0),
        testKit.<Worker.Command>createTestProbe().ref());
    // A sync round on one worker is one step: its worker applies it as the actor would.
    assertEquals(true, SharedParameters.directFor(sync, workers));
    assertEquals(false, SharedParameters.directFor(sync, two));
    assertEquals(true, SharedParameters.directFor(TinyJobs.asyncPlan("apply", 0), two));
    assertThrows(IllegalArgumentException.class, () -> SharedParameters.create(JOB, sync,
        new TrunkSnapshot(0, Map.of("c", TinyJobs.vector(1))), Map.of(), two,
        testKit.<SharedParameters.Report>createTestProbe().ref(), true));
    // Without in-place updates, Ready carries none.
    TestProbe<SharedParameters.Report> coordinator = testKit.createTestProbe();
    testKit.spawn(SharedParameters.create(JOB, TinyJobs.asyncPlan("apply", 0),
        new TrunkSnapshot(0, TinyJobs.handMadeModules()), workers, coordinator.ref()));
    assertNull(coordinator.expectMessageClass(SharedParameters.Ready.class, WAIT).direct());
  }
}
