package tandem.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.model.data.BatchSampler;
import tandem.model.spec.TaskGraph;
import tandem.model.spec.TrainingPlan;
import tandem.model.train.ModelParameters;
import tandem.model.train.SequentialTraining;
import tandem.model.train.StepResult;
import tandem.model.train.TaskProgram;

/**
 * The worker actor against probes standing in for its coordinator and shared-parameter actor.
 * The worker owns {@code binary_times2} (head {@code times2}) and {@code decimal_plus1} (head
 * {@code decimal_encoder}) of {@link TinyPlans}; its replica holds the three shared modules.
 */
class WorkerTest {

  private static final ActorTestKit testKit = ActorTestKit.create();
  private static final TrainingPlan plan = TinyPlans.plan();
  private static final Duration QUIET = Duration.ofMillis(300);
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final List<String> OWNED = List.of("binary_times2", "decimal_plus1");
  private static final AtomicInteger jobs = new AtomicInteger();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** A fresh worker with the two owned tasks of a fresh job assigned. */
  private static final class Fixture {
    final String jobId = "job-" + jobs.incrementAndGet();
    final String name = "worker-" + jobId;
    final ActorTestKit kit;
    final ActorRef<Worker.Command> worker;
    final TestProbe<Worker.SharedGradients> gradients;
    final TestProbe<Worker.StepOutcome> outcomes;
    final Map<String, INDArray> initial;
    final TrunkSnapshot trunk;
    final Map<String, INDArray> trunkCopy = new HashMap<>();
    final DirectTrunk direct;
    /** Outcomes of a batch not taken by {@link #expectDone()} yet. */
    final java.util.ArrayDeque<Worker.StepDone> batched = new java.util.ArrayDeque<>();
    Worker.Assigned assigned;

    Fixture() {
      this(Map.of());
    }

    /** {@code headOverrides} replace the initial parameters of those heads. */
    Fixture(Map<String, INDArray> headOverrides) {
      this(plan, headOverrides, trunk -> null);
    }

    /**
     * A job of {@code jobPlan}; {@code directFor} makes the assignment's {@link DirectTrunk}
     * from the starting trunk (null: none).
     */
    Fixture(TrainingPlan jobPlan, Map<String, INDArray> headOverrides,
        java.util.function.Function<TrunkSnapshot, DirectTrunk> directFor) {
      this(testKit, jobPlan, headOverrides, directFor);
    }

    /** As above, with the worker in {@code kit}'s actor system (its settings). */
    Fixture(ActorTestKit kit, TrainingPlan jobPlan, Map<String, INDArray> headOverrides,
        java.util.function.Function<TrunkSnapshot, DirectTrunk> directFor) {
      this.kit = kit;
      worker = kit.spawn(Worker.create(name), name);
      gradients = kit.createTestProbe();
      outcomes = kit.createTestProbe();
      initial = ModelParameters.initial(jobPlan.graph(), jobPlan.seed(), DataType.FLOAT);
      Map<String, INDArray> shared = new LinkedHashMap<>();
      jobPlan.graph().sharedModules().forEach(m -> {
        shared.put(m, initial.get(m));
        trunkCopy.put(m, initial.get(m).dup());
      });
      trunk = new TrunkSnapshot(0, shared);
      direct = directFor.apply(trunk);
      Map<String, INDArray> heads = new LinkedHashMap<>();
      OWNED.forEach(task -> jobPlan.graph().heads(task)
          .forEach(h -> heads.put(h, headOverrides.getOrDefault(h, initial.get(h).dup()))));
      TestProbe<Worker.Assigned> replies = kit.createTestProbe();
      worker.tell(new Worker.AssignTasks(new TaskAssignment(jobId, jobPlan, OWNED, heads, trunk,
          gradients.ref(), outcomes.ref(), direct), replies.ref()));
      assigned = replies.expectMessageClass(Worker.Assigned.class, WAIT);
    }

    void runStep(long step, String task, long minTrunkVersion) {
      worker.tell(new Worker.RunStep(jobId, step, task, minTrunkVersion, System.nanoTime()));
    }

    /** The next step outcome, one at a time out of a batch ({@link Worker.StepsDone}). */
    Worker.StepDone expectDone() {
      if (!batched.isEmpty()) {
        return batched.poll();
      }
      Worker.StepOutcome outcome = outcomes.expectMessageClass(Worker.StepOutcome.class, WAIT);
      if (outcome instanceof Worker.StepFailed failed) {
        throw new AssertionError("expected StepDone, got " + failed);
      }
      if (outcome instanceof Worker.StepsDone batch) {
        batched.addAll(batch.steps());
        return batched.poll();
      }
      return (Worker.StepDone) outcome;
    }

    Map<String, INDArray> heads() {
      TestProbe<Worker.Heads> probe = kit.createTestProbe();
      worker.tell(new Worker.GetHeads(jobId, probe.ref()));
      Worker.Heads heads = probe.expectMessageClass(Worker.Heads.class, WAIT);
      assertEquals(jobId, heads.jobId());
      assertEquals(name, heads.worker());
      return heads.parameters();
    }

    void expectNothing() {
      outcomes.expectNoMessage(QUIET);
      gradients.expectNoMessage(Duration.ofMillis(1));
    }
  }

  @Test
  void assignTasksRepliesAssignedWithTheJobWorkerAndTasks() {
    Fixture f = new Fixture();
    assertEquals(new Worker.Assigned(f.jobId, f.name, OWNED), f.assigned);
    assertEquals(Set.of("times2", "decimal_encoder"), f.heads().keySet());
  }

  @Test
  void stepSendsGradientsOfExactlyTheSharedModulesTheTaskUsesAndStepDone() {
    Fixture f = new Fixture();
    f.runStep(1, "binary_times2", 0);
    Worker.SharedGradients sent = f.gradients.expectMessageClass(Worker.SharedGradients.class,
        WAIT);
    assertEquals(f.jobId, sent.jobId());
    assertEquals(1, sent.step());
    assertEquals("binary_times2", sent.task());
    assertEquals(0, sent.trunkVersion());
    assertEquals(Set.of("binary_encoder", "binary_decoder"), sent.gradients().keySet());

    // The same gradients as the task's program computes on the initial parameters and batch 0.
    Map<String, INDArray> expected = referenceGradients("binary_times2", f.initial);
    for (Map.Entry<String, INDArray> e : sent.gradients().entrySet()) {
      assertArrayEquals(expected.get(e.getKey()).toFloatVector(), e.getValue().toFloatVector(),
          1e-6f, e.getKey());
      assertTrue(e.getValue().amaxNumber().doubleValue() > 0, e.getKey() + " gradient is zero");
    }

    Worker.StepDone done = f.expectDone();
    assertEquals(f.jobId, done.jobId());
    assertEquals(1, done.step());
    assertEquals("binary_times2", done.task());
    assertEquals(0, done.trunkVersion());
    assertEquals(0, done.batch());
    assertEquals(f.name, done.worker());
    assertTrue(Double.isFinite(done.result().loss()) && done.result().loss() > 0,
        "loss " + done.result().loss());
    assertEquals(TinyPlans.BATCH_SIZE, done.result().examples());
    assertEquals(Set.of("binary"), done.result().outputLosses().keySet());
    assertFalse(done.queueTime().isNegative());
    assertFalse(done.computeTime().isNegative());

    f.runStep(2, "binary_times2", 0);
    f.gradients.expectMessageClass(Worker.SharedGradients.class, WAIT);
    Worker.StepDone second = f.expectDone();
    assertEquals(2, second.step());
    assertEquals(1, second.batch());

    // The other task has its own loader (batch 0) and its own set of shared modules.
    f.runStep(3, "decimal_plus1", 0);
    Worker.SharedGradients other = f.gradients.expectMessageClass(
        Worker.SharedGradients.class, WAIT);
    assertEquals(Set.of("plus1", "binary_decoder"), other.gradients().keySet());
    Worker.StepDone third = f.expectDone();
    assertEquals("decimal_plus1", third.task());
    assertEquals(0, third.batch());
  }

  @Test
  void stepUpdatesTheTasksHeadLikeTheSequentialLoopAndNeverWritesTheTrunk() {
    Fixture f = new Fixture();
    Map<String, INDArray> before = f.heads();

    f.runStep(1, "binary_times2", 0);
    Worker.StepDone done = f.expectDone();

    SequentialTraining sequential = new SequentialTraining(plan, DataType.FLOAT);
    StepResult reference = sequential.step("binary_times2");
    assertEquals(reference.loss(), done.result().loss(), 0.0);

    Map<String, INDArray> after = f.heads();
    assertNotEquals(before.get("times2"), after.get("times2"), "times2 head did not change");
    assertArrayEquals(sequential.parameters().get("times2").toFloatVector(),
        after.get("times2").toFloatVector(), 0f, "times2 after one SGD step");
    assertArrayEquals(before.get("decimal_encoder").toFloatVector(),
        after.get("decimal_encoder").toFloatVector(), 0f,
        "a head of another task changed");

    f.runStep(2, "decimal_plus1", 0);
    f.expectDone();
    f.runStep(3, "binary_times2", 0);
    f.expectDone();
    f.trunk.parameters().forEach((module, parameters) -> assertArrayEquals(
        f.trunkCopy.get(module).toFloatVector(), parameters.toFloatVector(), 0f,
        "published trunk module " + module + " was written"));
  }

  @Test
  void getHeadsReturnsCopies() {
    Fixture f = new Fixture();
    Map<String, INDArray> first = f.heads();
    float original = first.get("times2").getFloat(0);
    first.get("times2").putScalar(0, original + 100f);
    assertEquals(original, f.heads().get("times2").getFloat(0), 0f);
  }

  @Test
  void stepNeedingANewerTrunkWaitsForThatVersion() {
    Fixture f = new Fixture();
    f.runStep(1, "binary_times2", 1);
    f.expectNothing();

    // A version that is not newer releases nothing.
    f.worker.tell(new Worker.NewTrunkVersion(f.jobId, f.trunk));
    f.expectNothing();

    Map<String, INDArray> next = new LinkedHashMap<>();
    f.trunk.parameters().forEach((m, p) -> next.put(m, p.add(0.01f)));
    f.worker.tell(new Worker.NewTrunkVersion(f.jobId, new TrunkSnapshot(1, next)));
    Worker.SharedGradients sent = f.gradients.expectMessageClass(Worker.SharedGradients.class,
        WAIT);
    assertEquals(1, sent.trunkVersion());
    Worker.StepDone done = f.expectDone();
    assertEquals(1, done.step());
    assertEquals(1, done.trunkVersion());
    assertEquals(0, done.batch());
  }

  @Test
  void queueTimeCountsFromWhenTheStepCouldStart() {
    Fixture f = new Fixture();
    long minuteAgo = System.nanoTime() - Duration.ofMinutes(1).toNanos();
    // Ready at dispatch (its version is there): queued from dispatch.
    f.worker.tell(new Worker.RunStep(f.jobId, 1, "binary_times2", 0, minuteAgo));
    assertTrue(f.expectDone().queueTime().compareTo(Duration.ofMinutes(1)) >= 0);
    f.gradients.expectMessageClass(Worker.SharedGradients.class, WAIT);
    // Sent ahead of its version (a sync round): the wait for the version is not queueing.
    f.worker.tell(new Worker.RunStep(f.jobId, 2, "binary_times2", 1, minuteAgo));
    f.expectNothing();
    Map<String, INDArray> next = new LinkedHashMap<>();
    f.trunk.parameters().forEach((m, p) -> next.put(m, p.add(0.01f)));
    f.worker.tell(new Worker.NewTrunkVersion(f.jobId, new TrunkSnapshot(1, next)));
    Worker.StepDone done = f.expectDone();
    assertEquals(2, done.step());
    assertTrue(done.queueTime().compareTo(Duration.ofSeconds(30)) < 0,
        "queued " + done.queueTime() + " from dispatch, not from the version's arrival");
  }

  /** Version {@code version} of the trunk, its values shifted so that each version differs. */
  private static TrunkSnapshot version(Fixture f, long version) {
    Map<String, INDArray> next = new LinkedHashMap<>();
    f.trunk.parameters().forEach((m, p) -> next.put(m, p.add(0.01f * version)));
    return new TrunkSnapshot(version, next);
  }

  @Test
  void syncOutcomesWaitUntilAtMostOneStepWaitsThenGoTogetherInStepOrder() {
    Fixture f = new Fixture();
    // Three sync rounds sent ahead, for versions 1, 2 and 3.
    f.runStep(2, "binary_times2", 1);
    f.runStep(3, "decimal_plus1", 2);
    f.runStep(4, "binary_times2", 3);
    f.expectNothing();
    f.worker.tell(new Worker.NewTrunkVersion(f.jobId, version(f, 1)));
    // Step 2 computed (its gradient is out) but two steps still wait: its outcome is held.
    assertEquals(2, f.gradients.expectMessageClass(Worker.SharedGradients.class, WAIT).step());
    f.outcomes.expectNoMessage(QUIET);
    f.worker.tell(new Worker.NewTrunkVersion(f.jobId, version(f, 2)));
    assertEquals(3, f.gradients.expectMessageClass(Worker.SharedGradients.class, WAIT).step());
    // One step left waiting: both outcomes go, in step order.
    assertEquals(2, f.expectDone().step());
    assertEquals(3, f.expectDone().step());
    f.worker.tell(new Worker.NewTrunkVersion(f.jobId, version(f, 3)));
    assertEquals(4, f.expectDone().step());
  }

  @Test
  void aStepWaitingBehindOneForALaterVersionRunsWhenItsOwnVersionArrives() {
    Fixture f = new Fixture();
    // As after a lost worker: its step for version 1 is re-run here, behind a round for 2.
    f.runStep(3, "binary_times2", 2);
    f.runStep(2, "decimal_plus1", 1);
    f.expectNothing();
    f.worker.tell(new Worker.NewTrunkVersion(f.jobId, version(f, 1)));
    assertEquals(2, f.expectDone().step());
    f.worker.tell(new Worker.NewTrunkVersion(f.jobId, version(f, 2)));
    assertEquals(3, f.expectDone().step());
  }

  @Test
  void evaluationQueuedBehindAWaitingStepRunsAfterIt() {
    Fixture f = new Fixture();
    TestProbe<Worker.EvaluationDone> evaluations = testKit.createTestProbe();
    f.runStep(1, "binary_times2", 1);
    f.worker.tell(new Worker.Evaluate(f.jobId, 0, evaluations.ref()));
    evaluations.expectNoMessage(QUIET);
    f.worker.tell(new Worker.NewTrunkVersion(f.jobId, new TrunkSnapshot(1,
        f.trunk.parameters())));
    f.expectDone();
    evaluations.expectMessageClass(Worker.EvaluationDone.class, WAIT);
  }

  @Test
  void evaluateReturnsAMetricInZeroOneForEveryOutputOfEveryOwnedTask() {
    Fixture f = new Fixture();
    TestProbe<Worker.EvaluationDone> evaluations = testKit.createTestProbe();
    f.worker.tell(new Worker.Evaluate(f.jobId, 0, evaluations.ref()));
    Worker.EvaluationDone done = evaluations.expectMessageClass(Worker.EvaluationDone.class,
        WAIT);
    assertEquals(f.jobId, done.jobId());
    assertEquals(f.name, done.worker());
    assertEquals(OWNED, List.copyOf(done.metrics().keySet()));
    done.metrics().forEach((task, metrics) -> {
      assertEquals(Set.of("binary"), metrics.keySet(), task);
      double value = metrics.get("binary");
      assertTrue(value >= 0 && value <= 1, task + " metric " + value);
    });
  }

  @Test
  void evaluateNeedingANewerTrunkWaitsForIt() {
    Fixture f = new Fixture();
    TestProbe<Worker.EvaluationDone> evaluations = testKit.createTestProbe();
    f.worker.tell(new Worker.Evaluate(f.jobId, 1, evaluations.ref()));
    evaluations.expectNoMessage(QUIET);
    f.worker.tell(new Worker.NewTrunkVersion(f.jobId, new TrunkSnapshot(1,
        f.trunk.parameters())));
    assertEquals(OWNED, List.copyOf(evaluations.expectMessageClass(Worker.EvaluationDone.class,
        WAIT).metrics().keySet()));
  }

  @Test
  void releasedJobIgnoresStepsAndHasNoHeads() {
    Fixture f = new Fixture();
    f.runStep(1, "binary_times2", 1); // waits for version 1 ...
    f.worker.tell(new Worker.ReleaseJob(f.jobId));
    f.worker.tell(new Worker.NewTrunkVersion(f.jobId, new TrunkSnapshot(1,
        f.trunk.parameters())));
    f.expectNothing(); // ... and is dropped with the job
    f.runStep(2, "binary_times2", 0);
    f.expectNothing();
    assertTrue(f.heads().isEmpty());
    TestProbe<Worker.EvaluationDone> evaluations = testKit.createTestProbe();
    f.worker.tell(new Worker.Evaluate(f.jobId, 0, evaluations.ref()));
    assertTrue(evaluations.expectMessageClass(Worker.EvaluationDone.class, WAIT).metrics()
        .isEmpty());
  }

  @Test
  void stepWithANonFiniteLossFailsAndTheWorkerKeepsServing() {
    INDArray poisoned = Nd4j.valueArrayOf(new long[] {plan.graph().modules().get("times2")
        .parameterCount()}, Float.NaN, DataType.FLOAT);
    Fixture f = new Fixture(Map.of("times2", poisoned));
    f.runStep(1, "binary_times2", 0);
    Worker.StepOutcome outcome = f.outcomes.expectMessageClass(Worker.StepOutcome.class, WAIT);
    assertTrue(outcome instanceof Worker.StepFailed, "expected StepFailed, got " + outcome);
    Worker.StepFailed failed = (Worker.StepFailed) outcome;
    assertEquals(f.jobId, failed.jobId());
    assertEquals(1, failed.step());
    assertEquals("binary_times2", failed.task());
    assertEquals(f.name, failed.worker());
    assertTrue(failed.reason().contains("NaN"), failed.reason());
    f.gradients.expectNoMessage(Duration.ofMillis(50));

    f.runStep(2, "decimal_plus1", 0);
    f.gradients.expectMessageClass(Worker.SharedGradients.class, WAIT);
    Worker.StepDone done = f.expectDone();
    assertEquals(2, done.step());
    assertTrue(Double.isFinite(done.result().loss()));
  }

  @Test
  void anOfferedVersionIsTakenAndSaidHeldAndReleasesTheStepWaitingForIt() {
    Fixture f = new Fixture();
    f.runStep(1, "binary_times2", 1);
    f.expectNothing();
    TestProbe<Worker.TrunkVersionHeld> held = testKit.createTestProbe();
    Map<String, INDArray> next = new LinkedHashMap<>();
    f.trunk.parameters().forEach((m, p) -> next.put(m, p.add(0.01f)));
    f.worker.tell(new Worker.OfferTrunkVersion(f.jobId, new TrunkSnapshot(1, next), held.ref()));
    assertEquals(new Worker.TrunkVersionHeld(f.jobId, 1, f.worker), held.receiveMessage(WAIT));
    assertEquals(1, f.expectDone().trunkVersion());
    // An older version than the replica's is not taken: the worker says what it holds.
    f.worker.tell(new Worker.OfferTrunkVersion(f.jobId, f.trunk, held.ref()));
    assertEquals(new Worker.TrunkVersionHeld(f.jobId, 1, f.worker), held.receiveMessage(WAIT));
  }

  @Test
  void aWorkerCreatedWithAReadyToSaysItIsReady() {
    TestProbe<Worker.WorkerReady> ready = testKit.createTestProbe();
    ActorRef<Worker.Command> worker = testKit.spawn(
        Worker.create("ready-worker", java.util.OptionalInt.empty(), ready.ref()));
    assertEquals(new Worker.WorkerReady("ready-worker", worker), ready.receiveMessage(WAIT));
  }

  /** dLoss/dParameters of {@code task}'s first batch, computed directly by its program. */
  /**
   * A {@link DirectTrunk} that hands out the versions the test puts in and records what the
   * worker applies, answering each apply with the next version.
   */
  private static final class RecordingTrunk implements DirectTrunk {
    volatile TrunkSnapshot newest;
    final java.util.concurrent.BlockingQueue<Worker.SharedGradients> applied =
        new java.util.concurrent.LinkedBlockingQueue<>();
    final List<Map<String, INDArray>> gradientArrays =
        java.util.Collections.synchronizedList(new java.util.ArrayList<>());

    RecordingTrunk(TrunkSnapshot start) {
      newest = start;
    }

    @Override
    public TrunkSnapshot newest(ActorRef<Worker.Command> reader) {
      return newest;
    }

    @Override
    public Applied apply(Worker.SharedGradients gradients) {
      Map<String, INDArray> copies = new LinkedHashMap<>();
      gradients.gradients().forEach((module, gradient) -> copies.put(module, gradient.dup()));
      gradientArrays.add(gradients.gradients());
      applied.add(new Worker.SharedGradients(gradients.jobId(), gradients.step(),
          gradients.task(), gradients.trunkVersion(), gradients.loss(), copies,
          gradients.worker()));
      return new Applied(newest.version() + 1, 2, false);
    }
  }

  /**
   * A {@link RecordingTrunk} that records how many gradients each apply call took, and whose
   * reads wait for {@link #release} while {@code holdReads} is set.
   */
  private static final class GroupingTrunk implements DirectTrunk {
    final RecordingTrunk recording;
    final List<Integer> groups = java.util.Collections.synchronizedList(new ArrayList<>());
    final java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    final java.util.concurrent.CountDownLatch reading = new java.util.concurrent.CountDownLatch(1);

    GroupingTrunk(TrunkSnapshot start) {
      recording = new RecordingTrunk(start);
    }

    @Override
    public TrunkSnapshot newest(ActorRef<Worker.Command> reader) {
      reading.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return recording.newest(reader);
    }

    @Override
    public Applied apply(Worker.SharedGradients gradients) {
      return applyAll(List.of(gradients)).get(0);
    }

    @Override
    public List<Applied> applyAll(List<Worker.SharedGradients> gradients) {
      groups.add(gradients.size());
      return gradients.stream().map(recording::apply).toList();
    }

    /** How many of the next {@link #applyAllUnlessBusy} calls find another update running. */
    final java.util.concurrent.atomic.AtomicInteger busyFor =
        new java.util.concurrent.atomic.AtomicInteger();
    /** The sizes of the groups offered while busy, not applied. */
    final List<Integer> refused = java.util.Collections.synchronizedList(new ArrayList<>());

    @Override
    public java.util.Optional<List<Applied>> applyAllUnlessBusy(
        List<Worker.SharedGradients> gradients) {
      if (busyFor.getAndDecrement() > 0) {
        refused.add(gradients.size());
        return java.util.Optional.empty();
      }
      return java.util.Optional.of(applyAll(gradients));
    }
  }

  /** {@link TinyPlans}' job in async mode with {@code stepsInFlight} per worker. */
  private static TrainingPlan asyncPlan(int stepsInFlight) throws Exception {
    return tandem.model.spec.JobSpecCompiler.compile(TinyPlans.spec().toBuilder()
        .setConsistency(tandem.api.v1.ConsistencySpec.newBuilder().setMode("async")
            .setStepsInFlight(stepsInFlight))
        .build());
  }

  /**
   * Steps 1 to {@code steps} queued while the worker is inside step 1's read, with the direct
   * trunk busy for the first {@code busyFor} offers: the groups applied, in step order.
   */
  private static GroupingTrunk runQueuedWhileBusy(int steps, int busyFor) throws Exception {
    Fixture f = new Fixture(asyncPlan(8), Map.of(), GroupingTrunk::new);
    GroupingTrunk direct = (GroupingTrunk) f.direct;
    direct.busyFor.set(busyFor);
    f.runStep(1, "binary_times2", 0);
    assertTrue(direct.reading.await(10, java.util.concurrent.TimeUnit.SECONDS));
    for (long step = 2; step <= steps; step++) {
      f.runStep(step, step % 2 == 0 ? "decimal_plus1" : "binary_times2", 0);
    }
    direct.release.countDown();
    for (long step = 1; step <= steps; step++) {
      Worker.StepDone done = f.expectDone();
      assertEquals(step, done.step());
      assertTrue(done.applied() != null, "applied in place");
    }
    List<Long> applied = new ArrayList<>();
    direct.recording.applied.forEach(g -> applied.add(g.step()));
    assertEquals(java.util.stream.LongStream.rangeClosed(1, steps).boxed().toList(), applied,
        "each once, in step order");
    f.outcomes.expectNoMessage(QUIET);
    return direct;
  }

  @Test
  void whileAnotherWorkersUpdateRunsAStepsGradientsWaitForTheNextStepInsteadOfItsEnd()
      throws Exception {
    // Steps 1 and 2 are offered while busy and kept; step 3 brings them along; 4 and 5 pair.
    GroupingTrunk once = runQueuedWhileBusy(5, 1);
    assertEquals(List.of(2), once.refused);
    assertEquals(List.of(3, 2), once.groups);
    // Busy throughout: held up to twice the steps applied together (2 by default), which then
    // waits for the update;
    // the last step alone once no more steps are queued.
    GroupingTrunk always = runQueuedWhileBusy(5, Integer.MAX_VALUE);
    assertEquals(List.of(2, 3), always.refused);
    assertEquals(List.of(4, 1), always.groups);
  }

  @Test
  void asyncDirectStepsApplyTheirGradientsInPairsAndALoneStepAlone() throws Exception {
    TrainingPlan async = asyncPlan(8);
    Fixture f = new Fixture(async, Map.of(), GroupingTrunk::new);
    GroupingTrunk direct = (GroupingTrunk) f.direct;
    // Three steps queued while the worker is inside the first one's read: two go together,
    // the third alone once no more steps are queued.
    f.runStep(1, "binary_times2", 0);
    assertTrue(direct.reading.await(10, java.util.concurrent.TimeUnit.SECONDS));
    f.runStep(2, "decimal_plus1", 0);
    f.runStep(3, "binary_times2", 0);
    direct.release.countDown();
    for (long step = 1; step <= 3; step++) {
      Worker.StepDone done = f.expectDone();
      assertEquals(step, done.step());
      assertTrue(done.applied() != null, "applied in place");
    }
    assertEquals(List.of(2, 1), direct.groups);
    List<Long> applied = new ArrayList<>();
    direct.recording.applied.forEach(g -> applied.add(g.step()));
    assertEquals(List.of(1L, 2L, 3L), applied, "in step order");
    f.outcomes.expectNoMessage(QUIET);
  }

  @Test
  void asyncDirectStepsApplyAsManyTogetherAsTheSettingSays() throws Exception {
    ActorTestKit four = ActorTestKit.create("four-together", com.typesafe.config.ConfigFactory
        .parseString(Worker.UPDATES_TOGETHER_SETTING + " = 4")
        .withFallback(com.typesafe.config.ConfigFactory.load()));
    try {
      Fixture f = new Fixture(four, asyncPlan(8), Map.of(), GroupingTrunk::new);
      GroupingTrunk direct = (GroupingTrunk) f.direct;
      // Six steps queued while the worker is inside the first one's read: four go together,
      // the last two together once no more steps are queued.
      f.runStep(1, "binary_times2", 0);
      assertTrue(direct.reading.await(10, java.util.concurrent.TimeUnit.SECONDS));
      for (long step = 2; step <= 6; step++) {
        f.runStep(step, step % 2 == 0 ? "decimal_plus1" : "binary_times2", 0);
      }
      direct.release.countDown();
      for (long step = 1; step <= 6; step++) {
        assertEquals(step, f.expectDone().step());
      }
      assertEquals(List.of(4, 2), direct.groups);
      List<Long> applied = new ArrayList<>();
      direct.recording.applied.forEach(g -> applied.add(g.step()));
      assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), applied, "in step order");
    } finally {
      four.shutdownTestKit();
    }
  }

  @Test
  void aSettingOfFewerThanOneUpdateTogetherIsRefusedNamingIt() {
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> Worker.updatesTogether(
            com.typesafe.config.ConfigFactory.parseString(Worker.UPDATES_TOGETHER_SETTING
                + " = 0")));
    assertTrue(e.getMessage().contains(Worker.UPDATES_TOGETHER_SETTING), e.getMessage());
  }

  @Test
  void asyncOutcomesGoInBatchesOfHalfTheCreditsAndALoneStepIsStillReported() throws Exception {
    TrainingPlan async = asyncPlan(4);
    Fixture f = new Fixture(async, Map.of(), trunk -> null);
    // One step, under the batch of two: told once the mailbox holds no more steps.
    f.runStep(1, "binary_times2", 0);
    assertEquals(1, f.expectDone().step());
    // Three more at once: all told, in order, none twice.
    for (long step = 2; step <= 4; step++) {
      f.runStep(step, "binary_times2", 0);
    }
    for (long step = 2; step <= 4; step++) {
      assertEquals(step, f.expectDone().step());
    }
    f.outcomes.expectNoMessage(QUIET);
  }

  @Test
  void syncDirectStepsApplyOneByOneAndTheirOutcomesGoInBatchesAndOnceTheMailboxIsEmpty()
      throws Exception {
    // A sync job on one worker: each round (one step) applied by the worker itself before the
    // next step runs, and the outcomes of rounds queued ahead told every
    // SYNC_DIRECT_REPORT_EVERY steps, the rest once no more steps are queued.
    int steps = Worker.SYNC_DIRECT_REPORT_EVERY + 4;
    Fixture f = new Fixture(plan, Map.of(), GroupingTrunk::new);
    GroupingTrunk direct = (GroupingTrunk) f.direct;
    f.runStep(1, "binary_times2", 0);
    assertTrue(direct.reading.await(10, java.util.concurrent.TimeUnit.SECONDS));
    for (long step = 2; step <= steps; step++) {
      f.runStep(step, step % 2 == 0 ? "decimal_plus1" : "binary_times2", 0);
    }
    direct.release.countDown();
    List<Integer> batches = new ArrayList<>();
    long expected = 1;
    while (expected <= steps) {
      Worker.StepOutcome outcome = f.outcomes.expectMessageClass(Worker.StepOutcome.class, WAIT);
      List<Worker.StepDone> done = outcome instanceof Worker.StepsDone batch ? batch.steps()
          : List.of((Worker.StepDone) outcome);
      batches.add(done.size());
      for (Worker.StepDone step : done) {
        assertEquals(expected++, step.step(), "in step order");
        assertTrue(step.applied() != null, "applied in place");
      }
    }
    assertEquals(List.of(Worker.SYNC_DIRECT_REPORT_EVERY, 4), batches);
    assertEquals(java.util.Collections.nCopies(steps, 1), direct.groups, "one round at a time");
    f.outcomes.expectNoMessage(QUIET);
    f.gradients.expectNoMessage(Duration.ofMillis(1));
  }

  @Test
  void withADirectTrunkAStepReadsTheNewestVersionAppliesInPlaceAndReportsIt() throws Exception {
    Fixture f = new Fixture(plan, Map.of(), RecordingTrunk::new);
    RecordingTrunk direct = (RecordingTrunk) f.direct;
    // A newer version than the assignment's: the step must read it, with no message for it.
    Map<String, INDArray> newer = new LinkedHashMap<>();
    f.trunk.parameters().forEach((m, p) -> newer.put(m, p.add(0.25)));
    direct.newest = new TrunkSnapshot(3, newer);
    Map<String, INDArray> parameters = new HashMap<>(f.initial);
    parameters.putAll(newer);

    f.runStep(1, "binary_times2", 3);
    Worker.StepDone done = f.expectDone();
    assertEquals(3, done.trunkVersion());
    assertEquals(new DirectTrunk.Applied(4, 2, false), done.applied());
    Worker.SharedGradients applied = direct.applied.poll(10, java.util.concurrent.TimeUnit.SECONDS);
    assertEquals(1, applied.step());
    assertEquals(3, applied.trunkVersion());
    Map<String, INDArray> expected = referenceGradients("binary_times2", parameters);
    assertEquals(Set.of("binary_encoder", "binary_decoder"), applied.gradients().keySet());
    applied.gradients().forEach((module, gradient) -> assertArrayEquals(
        expected.get(module).toFloatVector(), gradient.toFloatVector(), 1e-6f, module));
    f.gradients.expectNoMessage(QUIET);

    // Applied arrays are the worker's again at once: the next step computes into them.
    f.runStep(2, "binary_times2", 3);
    f.expectDone();
    assertEquals(2, direct.gradientArrays.size());
    direct.gradientArrays.get(0).forEach((module, array) ->
        org.junit.jupiter.api.Assertions.assertSame(array, direct.gradientArrays.get(1).get(module),
            module));
  }

  private static Map<String, INDArray> referenceGradients(String task,
      Map<String, INDArray> parameters) {
    TaskGraph graph = plan.graph().task(task);
    BatchSampler sampler = SequentialTraining.samplerFor(plan, graph);
    Map<String, INDArray> gradients = ModelParameters.zerosLike(parameters);
    new TaskProgram(graph, DataType.FLOAT).computeGradients(parameters,
        plan.trainingData().get(task).batch(sampler.next(), DataType.FLOAT), gradients);
    return gradients;
  }
}
