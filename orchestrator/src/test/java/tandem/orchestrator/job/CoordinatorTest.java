package tandem.orchestrator.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.api.v1.Evaluation;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobStarted;
import tandem.api.v1.JobState;
import tandem.api.v1.StepCompleted;
import tandem.api.v1.TaskPlacement;
import tandem.api.v1.TrainingEvent;
import tandem.model.spec.TrainingPlan;
import tandem.model.train.ModelParameters;
import tandem.model.train.StepResult;
import tandem.worker.TaskAssignment;
import tandem.worker.Worker;

/**
 * The coordinator with worker probes "a" and "b" and its real shared-parameter child, which the
 * probes feed with gradients of ones through the reference their assignment carries. With
 * {@link TinyJobs}' equal heads, {@code binary_plus1} lands on a and {@code binary_times2} on b.
 */
class CoordinatorTest {

  private static final ActorTestKit testKit = ActorTestKit.create(com.typesafe.config.ConfigFactory
      .parseString("tandem.orchestrator.assign-timeout = 2s\n"
          // The rounds these tests follow one by one: the one computing and the next.
          + "tandem.orchestrator.sync-rounds-out = 2")
      .withFallback(com.typesafe.config.ConfigFactory.load()));
  private static final Duration WAIT = Duration.ofSeconds(5);
  private static final Duration QUIET = Duration.ofMillis(300);
  private static final AtomicInteger jobs = new AtomicInteger();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** A coordinator over two probe workers, past the assignment. */
  private static final class Job {
    final String jobId = "job-" + jobs.incrementAndGet();
    final TrainingPlan plan;
    final TestProbe<Worker.Command> a = testKit.createTestProbe("a");
    final TestProbe<Worker.Command> b = testKit.createTestProbe("b");
    final JobRecord record;
    final ActorRef<Coordinator.Command> coordinator;
    final Map<TestProbe<Worker.Command>, TaskAssignment> assignments = new LinkedHashMap<>();

    Job(TrainingPlan plan) {
      this.plan = plan;
      record = new JobRecord(jobId, plan.spec(), new EventLog(jobId, "tiny", 1000, Instant.now()));
      coordinator = testKit.spawn(Coordinator.create(record, plan, List.of(a.ref(), b.ref()),
          List.of("a", "b")), jobId);
    }

    void replyAssigned(TestProbe<Worker.Command> worker, Worker.AssignTasks assign) {
      assign.replyTo().tell(new Worker.Assigned(jobId, name(worker), assign.assignment().tasks()));
    }

    String name(TestProbe<Worker.Command> worker) {
      return worker == a ? "a" : "b";
    }

    Worker.RunStep expectRunStep(TestProbe<Worker.Command> worker, long step, String task,
        long minTrunkVersion) {
      Worker.RunStep run = worker.expectMessageClass(Worker.RunStep.class, WAIT);
      assertEquals(jobId, run.jobId());
      assertEquals(step, run.step(), "step number");
      assertEquals(task, run.task());
      assertEquals(minTrunkVersion, run.minTrunkVersion());
      return run;
    }

    /** One step in flight each: round 0 (a step 1, b step 2) and round 1 (3, 4) sent ahead. */
    void expectFirstTwoRounds() {
      expectRunStep(a, 1, "binary_plus1", 0);
      expectRunStep(a, 3, "binary_plus1", 1);
      expectRunStep(b, 2, "binary_times2", 0);
      expectRunStep(b, 4, "binary_times2", 1);
    }

    void expectNewVersion(long version) {
      for (TestProbe<Worker.Command> worker : List.of(a, b)) {
        Worker.OfferTrunkVersion next = worker.expectMessageClass(
            Worker.OfferTrunkVersion.class, WAIT);
        assertEquals(version, next.snapshot().version());
        // Held, so that the next version comes to this worker too.
        next.replyTo().tell(new Worker.TrunkVersionHeld(jobId, version, worker.ref()));
      }
    }

    void stepDone(TestProbe<Worker.Command> worker, Worker.RunStep run, double loss) {
      assignments.get(worker).coordinator().tell(new Worker.StepDone(jobId, run.step(),
          run.task(), new StepResult(loss, Map.of("binary", loss), 4), run.minTrunkVersion(),
          name(worker), run.step(), Duration.ZERO, Duration.ofMillis(1)));
    }

    /** Gradients of ones for every shared module. */
    void gradients(TestProbe<Worker.Command> worker, Worker.RunStep run) {
      Map<String, INDArray> gradients = new LinkedHashMap<>();
      assignments.get(worker).trunk().parameters().forEach((module, parameters) ->
          gradients.put(module, Nd4j.ones(DataType.FLOAT, parameters.length())));
      assignments.get(worker).sharedParameters().tell(new Worker.SharedGradients(jobId,
          run.step(), run.task(), run.minTrunkVersion(), 0.0, gradients,
          testKit.system().ignoreRef()));
    }

    void expectNothing() {
      a.expectNoMessage(QUIET);
      b.expectNoMessage(Duration.ofMillis(1));
    }

    void expectStopped() {
      for (TestProbe<Worker.Command> worker : List.of(a, b)) {
        worker.fishForMessage(WAIT, message -> message instanceof Worker.ReleaseJob release
            && release.jobId().equals(jobId)
            ? FishingOutcomes.complete()
            : FishingOutcomes.continueAndIgnore());
      }
      testKit.createTestProbe().expectTerminated(coordinator, WAIT);
    }

    List<TrainingEvent> events() {
      return record.events().read(0, 10_000).events();
    }

    JobFinished finished() {
      List<TrainingEvent> events = events();
      TrainingEvent last = events.get(events.size() - 1);
      assertTrue(last.hasJobFinished(), "last event " + last);
      return last.getJobFinished();
    }
  }

  /** Assignment: expects AssignTasks on both probes and replies Assigned from each. */
  private static Job started(TrainingPlan plan) {
    Job job = new Job(plan);
    Map<TestProbe<Worker.Command>, Worker.AssignTasks> received = new LinkedHashMap<>();
    for (TestProbe<Worker.Command> worker : List.of(job.a, job.b)) {
      Worker.AssignTasks assign = worker.expectMessageClass(Worker.AssignTasks.class, WAIT);
      received.put(worker, assign);
      job.assignments.put(worker, assign.assignment());
    }
    assertEquals(List.of("binary_plus1"), job.assignments.get(job.a).tasks());
    assertEquals(List.of("binary_times2"), job.assignments.get(job.b).tasks());
    job.assignments.forEach((worker, assignment) -> {
      assertEquals(job.jobId, assignment.jobId());
      assertEquals(0, assignment.trunk().version());
      assertEquals(List.of("binary_encoder", "binary_decoder"),
          List.copyOf(assignment.trunk().parameters().keySet()));
      assertEquals(plan.graph().heads(assignment.tasks().get(0)),
          assignment.headParameters().keySet());
    });
    // No step before every worker has its heads.
    job.replyAssigned(job.a, received.get(job.a));
    job.expectNothing();
    assertEquals(0, job.record.events().lastSequence());
    job.replyAssigned(job.b, received.get(job.b));
    return job;
  }

  @Test
  void runsSyncRoundsEvaluatesCollectsAndSucceeds() {
    TrainingPlan plan = TinyJobs.plan("mean", 4, 1);
    Job job = started(plan);

    // Round 0: one step per worker (one in flight each), round robin. Round 1, for version 1,
    // goes out with it: the workers hold it until version 1 arrives.
    Worker.RunStep s1 = job.expectRunStep(job.a, 1, "binary_plus1", 0);
    Worker.RunStep s3 = job.expectRunStep(job.a, 3, "binary_plus1", 1);
    Worker.RunStep s2 = job.expectRunStep(job.b, 2, "binary_times2", 0);
    Worker.RunStep s4 = job.expectRunStep(job.b, 4, "binary_times2", 1);
    job.expectNothing();
    job.stepDone(job.a, s1, 0.9);
    job.stepDone(job.b, s2, 0.8);
    // Every step is out (max_steps 4).
    job.expectNothing();
    assertEquals(1, job.record.events().lastSequence(), "steps are logged once applied");
    job.gradients(job.b, s2);
    job.gradients(job.a, s1);
    job.expectNewVersion(1);
    job.gradients(job.a, s3);
    job.stepDone(job.a, s3, 0.7);
    job.gradients(job.b, s4);
    job.stepDone(job.b, s4, 0.6);
    job.expectNewVersion(2);

    // max_steps reached: evaluation on the final version, then the heads.
    TestProbe<Worker.Command>[] workers = workers(job);
    Map<String, Double> accuracy = Map.of("a", 0.8, "b", 0.6);
    for (TestProbe<Worker.Command> worker : workers) {
      Worker.Evaluate evaluate = worker.expectMessageClass(Worker.Evaluate.class, WAIT);
      assertEquals(2, evaluate.minTrunkVersion());
      String task = job.assignments.get(worker).tasks().get(0);
      evaluate.replyTo().tell(new Worker.EvaluationDone(job.jobId, job.name(worker),
          Map.of(task, Map.of("binary", accuracy.get(job.name(worker))))));
    }
    Map<String, INDArray> heads = new LinkedHashMap<>();
    for (TestProbe<Worker.Command> worker : workers) {
      Worker.GetHeads get = worker.expectMessageClass(Worker.GetHeads.class, WAIT);
      String head = job.name(worker).equals("a") ? "plus1" : "times2";
      INDArray values = Nd4j.valueArrayOf(new long[] {72}, job.name(worker).equals("a") ? 1f : 2f,
          DataType.FLOAT);
      heads.put(head, values);
      get.replyTo().tell(new Worker.Heads(job.jobId, job.name(worker), Map.of(head, values)));
    }
    for (TestProbe<Worker.Command> worker : workers) {
      assertEquals(new Worker.ReleaseJob(job.jobId),
          worker.expectMessageClass(Worker.ReleaseJob.class, WAIT));
    }
    testKit.createTestProbe().expectTerminated(job.coordinator, WAIT);

    List<TrainingEvent> events = job.events();
    assertEquals(List.of(TrainingEvent.KindCase.JOB_STARTED,
        TrainingEvent.KindCase.STEP_COMPLETED, TrainingEvent.KindCase.STEP_COMPLETED,
        TrainingEvent.KindCase.STEP_COMPLETED, TrainingEvent.KindCase.STEP_COMPLETED,
        TrainingEvent.KindCase.EVALUATION_COMPLETED, TrainingEvent.KindCase.JOB_FINISHED),
        events.stream().map(TrainingEvent::getKindCase).toList());

    JobStarted jobStarted = events.get(0).getJobStarted();
    assertEquals(4, jobStarted.getMaxSteps());
    assertEquals(2, jobStarted.getWorkers());
    assertEquals(List.of("binary_encoder", "binary_decoder"), jobStarted.getSharedModulesList());
    assertEquals(List.of(
        TaskPlacement.newBuilder().setTask("binary_plus1").setWorker("a").addHeads("plus1")
            .build(),
        TaskPlacement.newBuilder().setTask("binary_times2").setWorker("b").addHeads("times2")
            .build()), jobStarted.getPlacementsList());

    double[] losses = {0.9, 0.8, 0.7, 0.6};
    for (int i = 0; i < 4; i++) {
      StepCompleted step = events.get(1 + i).getStepCompleted();
      assertEquals(i + 1, step.getStep());
      assertEquals(TinyJobs.TASKS.get(i % 2), step.getTask());
      assertEquals(i % 2 == 0 ? "a" : "b", step.getWorker());
      assertEquals(losses[i], step.getLoss(), 0.0);
      assertEquals(4, step.getExamples());
      assertEquals(i / 2, step.getTrunkVersion());
      assertEquals(0, step.getStaleness());
      assertEquals(i + 1, step.getBatch());
      assertEquals(1, step.getOutputsCount());
    }

    List<Evaluation> evaluations = events.get(5).getEvaluationCompleted().getEvaluationsList();
    assertEquals(4, events.get(5).getEvaluationCompleted().getStep());
    assertEquals(List.of(
        Evaluation.newBuilder().setTask("binary_plus1").setOutput("binary").setMetric("accuracy")
            .setValue(0.8).setExamples(10).build(),
        Evaluation.newBuilder().setTask("binary_times2").setOutput("binary")
            .setMetric("accuracy").setValue(0.6).setExamples(10).build()), evaluations);

    JobFinished finished = events.get(6).getJobFinished();
    assertEquals(JobState.JOB_STATE_SUCCEEDED, finished.getState());
    assertEquals(4, finished.getSteps());
    assertEquals(JobState.JOB_STATE_SUCCEEDED, job.record.events().status().getState());
    assertEquals(4, job.record.events().status().getStepsDone());

    // Trained parameters: the heads as the workers reported them, the shared modules after two
    // SGD rounds of mean gradient 1 at learning rate 0.5: initial - 1.
    Map<String, INDArray> trained = job.record.trainedParameters();
    assertNotNull(trained);
    assertEquals(List.of("binary_encoder", "plus1", "times2", "binary_decoder"),
        List.copyOf(trained.keySet()).stream().sorted((x, y) -> Integer.compare(
            plan.graph().modules().keySet().stream().toList().indexOf(x),
            plan.graph().modules().keySet().stream().toList().indexOf(y))).toList());
    heads.forEach((head, values) -> assertArrayEquals(values.toFloatVector(),
        trained.get(head).toFloatVector(), 0f, head));
    Map<String, INDArray> initial = ModelParameters.initial(plan.graph(), plan.seed(),
        DataType.FLOAT);
    for (String module : List.of("binary_encoder", "binary_decoder")) {
      assertArrayEquals(initial.get(module).sub(1f).toFloatVector(),
          trained.get(module).toFloatVector(), 1e-5f, module);
    }
  }

  @Test
  void roundsTakeAtMostStepsInFlightPerWorkerAndGoOutOneAhead() {
    Job job = started(TinyJobs.plan("mean", 10, 2));
    // Round 0 on version 0, two steps per worker, and round 1 on version 1 with it.
    Worker.RunStep s1 = job.expectRunStep(job.a, 1, "binary_plus1", 0);
    Worker.RunStep s3 = job.expectRunStep(job.a, 3, "binary_plus1", 0);
    Worker.RunStep s5 = job.expectRunStep(job.a, 5, "binary_plus1", 1);
    Worker.RunStep s7 = job.expectRunStep(job.a, 7, "binary_plus1", 1);
    Worker.RunStep s2 = job.expectRunStep(job.b, 2, "binary_times2", 0);
    Worker.RunStep s4 = job.expectRunStep(job.b, 4, "binary_times2", 0);
    Worker.RunStep s6 = job.expectRunStep(job.b, 6, "binary_times2", 1);
    Worker.RunStep s8 = job.expectRunStep(job.b, 8, "binary_times2", 1);
    job.expectNothing();

    job.stepDone(job.a, s1, 1.0);
    job.gradients(job.a, s1);
    job.stepDone(job.b, s2, 1.0);
    job.gradients(job.b, s2);
    job.stepDone(job.a, s3, 1.0);
    job.gradients(job.a, s3);
    // s4 is still out: round 0 is not done, and two rounds are out.
    job.expectNothing();
    job.stepDone(job.b, s4, 1.0);
    // Round 0's outcomes are in: round 2 (the two steps left, one each) goes out for version 2,
    // before round 0 is even applied.
    job.expectRunStep(job.a, 9, "binary_plus1", 2);
    job.expectRunStep(job.b, 10, "binary_times2", 2);
    job.expectNothing();
    job.gradients(job.b, s4);
    job.expectNewVersion(1);
    // Rounds 1 and 2 are announced: the shared-parameter actor holds version 1's report back.
    for (Worker.RunStep step : List.of(s5, s6, s7, s8)) {
      job.stepDone(step.task().equals("binary_plus1") ? job.a : job.b, step, 1.0);
      job.gradients(step.task().equals("binary_plus1") ? job.a : job.b, step);
    }
    job.expectNewVersion(2);
    // Only round 2 is left: the coordinator hears of versions 1 and 2 together.
    job.a.awaitAssert(WAIT, () -> {
      assertEquals(9, job.record.events().lastSequence(), "JobStarted and eight steps");
      return null;
    });

    TestProbe<JobManager.Outcome> cancelled = testKit.createTestProbe();
    job.coordinator.tell(new Coordinator.Cancel(cancelled.ref()));
    assertEquals(JobManager.Outcome.ACCEPTED,
        cancelled.expectMessageClass(JobManager.Outcome.class, WAIT));
    job.expectStopped();
    JobFinished finished = job.finished();
    assertEquals(JobState.JOB_STATE_CANCELLED, finished.getState());
    assertEquals(8, finished.getSteps());
    assertNull(job.record.trainedParameters());
  }

  @Test
  void aFailedStepFailsTheJobWithTheReason() {
    Job job = started(TinyJobs.plan("mean", 4, 1));
    Worker.RunStep s1 = job.expectRunStep(job.a, 1, "binary_plus1", 0);
    job.expectRunStep(job.b, 2, "binary_times2", 0);
    job.assignments.get(job.a).coordinator().tell(new Worker.StepFailed(job.jobId, s1.step(),
        s1.task(), "a", "loss of task 'binary_plus1' is NaN at batch 0"));
    job.expectStopped();
    JobFinished finished = job.finished();
    assertEquals(JobState.JOB_STATE_FAILED, finished.getState());
    String message = finished.getMessage();
    assertTrue(message.contains("loss of task 'binary_plus1' is NaN at batch 0"), message);
    assertTrue(message.contains("step 1"), message);
    assertTrue(message.contains("binary_plus1"), message);
    assertTrue(message.contains(" a"), message);
    assertEquals(message, job.record.events().status().getError());
    assertEquals(JobState.JOB_STATE_FAILED, job.record.events().status().getState());
    assertNull(job.record.trainedParameters());
  }

  @Test
  void aWorkerThatStopsHasItsTasksMovedAndItsStepsRunAgain() {
    Job job = started(TinyJobs.plan("mean", 4, 1));
    job.expectFirstTwoRounds();
    job.b.stop();
    Worker.AssignTasks moved = job.a.expectMessageClass(Worker.AssignTasks.class, WAIT);
    assertEquals(List.of("binary_times2"), moved.assignment().tasks());
    // No checkpoint yet: the head comes back with its initial parameters.
    assertEquals(job.assignments.get(job.b).headParameters().keySet(),
        moved.assignment().headParameters().keySet());
    // Both of b's steps, each for the version of its round.
    job.expectRunStep(job.a, 2, "binary_times2", 0);
    job.expectRunStep(job.a, 4, "binary_times2", 1);
    List<TrainingEvent> events = job.events();
    TrainingEvent lost = events.stream().filter(TrainingEvent::hasWorkerLost).findFirst()
        .orElseThrow();
    assertEquals("b", lost.getWorkerLost().getWorker());
    assertEquals(List.of(2L, 4L), lost.getWorkerLost().getStepsInFlightList());
    TrainingEvent tasksMoved = events.stream().filter(TrainingEvent::hasTasksMoved).findFirst()
        .orElseThrow();
    assertEquals("a", tasksMoved.getTasksMoved().getPlacements(0).getWorker());
    assertEquals(List.of(2L, 4L), tasksMoved.getTasksMoved().getStepsRerunList());
    assertFalse(job.record.events().complete(), "the job goes on");
  }

  @Test
  void theLastWorkerStoppingFailsTheJobNamingIt() {
    Job job = started(TinyJobs.plan("mean", 4, 1));
    job.expectFirstTwoRounds();
    job.b.stop();
    job.a.expectMessageClass(Worker.AssignTasks.class, WAIT);
    job.a.stop();
    testKit.createTestProbe().expectTerminated(job.coordinator, WAIT);
    JobFinished finished = job.finished();
    assertEquals(JobState.JOB_STATE_FAILED, finished.getState());
    assertTrue(finished.getMessage().contains("a stopped"), finished.getMessage());
  }

  @Test
  void workersThatNeverTakeTheirTasksFailTheJobAfterTheAssignTimeout() {
    Job job = new Job(TinyJobs.plan("mean", 4, 1));
    job.a.expectMessageClass(Worker.AssignTasks.class, WAIT);
    job.b.expectMessageClass(Worker.AssignTasks.class, WAIT);
    // Neither answers, as a worker node that could not compile the spec.
    testKit.createTestProbe().expectTerminated(job.coordinator, Duration.ofSeconds(10));
    JobFinished finished = job.finished();
    assertEquals(JobState.JOB_STATE_FAILED, finished.getState());
    assertTrue(finished.getMessage().contains("did not all take their tasks within PT2S"),
        finished.getMessage());
  }

  @Test
  void aWorkerThatStopsBeforeAssignmentFailsTheJob() {
    Job job = new Job(TinyJobs.plan("mean", 4, 1));
    job.a.expectMessageClass(Worker.AssignTasks.class, WAIT);
    job.b.expectMessageClass(Worker.AssignTasks.class, WAIT);
    job.a.stop();
    testKit.createTestProbe().expectTerminated(job.coordinator, WAIT);
    JobFinished finished = job.finished();
    assertEquals(JobState.JOB_STATE_FAILED, finished.getState());
    assertTrue(finished.getMessage().contains("a stopped"), finished.getMessage());
  }

  @Test
  void anIncompleteHeadsReplyStillEndsTheJobsLog() {
    Job job = started(TinyJobs.plan("mean", 2, 1));
    Worker.RunStep s1 = job.expectRunStep(job.a, 1, "binary_plus1", 0);
    Worker.RunStep s2 = job.expectRunStep(job.b, 2, "binary_times2", 0);
    job.stepDone(job.a, s1, 1.0);
    job.gradients(job.a, s1);
    job.stepDone(job.b, s2, 1.0);
    job.gradients(job.b, s2);
    job.expectNewVersion(1);
    for (TestProbe<Worker.Command> worker : workers(job)) {
      Worker.Evaluate evaluate = worker.expectMessageClass(Worker.Evaluate.class, WAIT);
      evaluate.replyTo().tell(new Worker.EvaluationDone(job.jobId, job.name(worker), Map.of()));
    }
    // A worker that no longer knows the job answers GetHeads with no heads (Worker.onGetHeads).
    for (TestProbe<Worker.Command> worker : workers(job)) {
      Worker.GetHeads get = worker.expectMessageClass(Worker.GetHeads.class, WAIT);
      get.replyTo().tell(new Worker.Heads(job.jobId, job.name(worker), Map.of()));
    }
    testKit.createTestProbe().expectTerminated(job.coordinator, WAIT);
    assertTrue(job.record.events().complete(), "the log never got JobFinished: "
        + job.record.events().status().getState());
    assertEquals(JobState.JOB_STATE_FAILED, job.finished().getState());
  }

  @SuppressWarnings("unchecked")
  private static TestProbe<Worker.Command>[] workers(Job job) {
    return new TestProbe[] {job.a, job.b};
  }
}
