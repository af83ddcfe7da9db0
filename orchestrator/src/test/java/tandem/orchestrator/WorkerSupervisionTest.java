package tandem.orchestrator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.BehaviorInterceptor;
import org.apache.pekko.actor.typed.TypedActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.StopCondition;
import tandem.api.v1.TrainingEvent;
import tandem.model.spec.JobSpecCompiler;
import tandem.model.spec.TrainingPlan;
import tandem.orchestrator.job.EventLog;
import tandem.orchestrator.job.JobManager;
import tandem.orchestrator.job.JobStore;
import tandem.worker.TaskAssignment;
import tandem.worker.Worker;
import tandem.worker.WorkerSlots;

/**
 * Supervision of the workers and the shared-parameter actor, with faults injected into real
 * actors: the job manager over a {@link WorkerDirectory} of two embedded workers, worker-1 of
 * which throws (or corrupts what it sends) once when armed. The job goes on or fails cleanly,
 * the failed worker is replaced, and the next job trains on both workers.
 */
class WorkerSupervisionTest {

  private static final ActorTestKit testKit = ActorTestKit.create("supervision",
      WorkerThreads.withDispatchers(ConfigFactory.parseString(
          "tandem.orchestrator.assign-timeout = 30s").withFallback(ConfigFactory.load()), 2));
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final AtomicInteger directories = new AtomicInteger();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** What worker-1 does to the next message of a kind, once: throw, or change it. */
  private static final class Fault {
    final AtomicReference<Class<?>> armedFor = new AtomicReference<>();
    volatile UnaryOperator<Worker.Command> change;

    /** The next {@code kind} throws inside worker-1. */
    void throwOn(Class<? extends Worker.Command> kind) {
      change = null;
      armedFor.set(kind);
    }

    /** The next {@code kind} reaches worker-1 changed by {@code how}. */
    void change(Class<? extends Worker.Command> kind, UnaryOperator<Worker.Command> how) {
      change = how;
      armedFor.set(kind);
    }
  }

  private static final class Injecting extends BehaviorInterceptor<Worker.Command,
      Worker.Command> {
    private final Fault fault;

    Injecting(Fault fault) {
      super(Worker.Command.class);
      this.fault = fault;
    }

    @Override
    public Behavior<Worker.Command> aroundReceive(TypedActorContext<Worker.Command> context,
        Worker.Command message, ReceiveTarget<Worker.Command> target) {
      Class<?> armed = fault.armedFor.get();
      if (armed != null && armed.isInstance(message) && fault.armedFor.compareAndSet(armed, null)) {
        if (fault.change == null) {
          throw new IllegalStateException("injected fault in worker-1 on "
              + message.getClass().getSimpleName());
        }
        return target.apply(context, fault.change.apply(message));
      }
      return target.apply(context, message);
    }
  }

  /** A job manager over a directory of two workers, and what the manager is told. */
  private static final class Server {
    final JobStore store = new JobStore(100);
    final TestProbe<JobManager.Command> told = testKit.createTestProbe();
    final Fault fault = new Fault();
    final ActorRef<JobManager.Command> jobManager = testKit.spawn(Behaviors.monitor(
        JobManager.Command.class, told.ref(), JobManager.create(store, List.of(), 10_000, null,
            1)));

    Server() {
      WorkerSlots.Factory workers = (i, actorName, readyTo) -> {
        Behavior<Worker.Command> worker =
            Worker.create(WorkerSlots.actorName(i), OptionalInt.empty(), readyTo);
        return i == 1 ? Behaviors.intercept(() -> new Injecting(fault), worker) : worker;
      };
      testKit.spawn(WorkerDirectory.create(2, false, jobManager, store, workers),
          "workers-" + directories.incrementAndGet());
    }

    /** The next worker list the manager is told that has {@code count} workers. */
    List<JobManager.WorkerHandle> expectWorkers(int count) {
      List<JobManager.Command> fished = told.fishForMessage(WAIT, message ->
          message instanceof JobManager.WorkersChanged changed
              && changed.workers().size() == count
              ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());
      return ((JobManager.WorkersChanged) fished.get(fished.size() - 1)).workers();
    }

    String start(TrainingPlan plan) {
      TestProbe<String> id = testKit.createTestProbe();
      jobManager.tell(new JobManager.StartJob(plan.spec(), plan, id.ref()));
      return id.receiveMessage(WAIT);
    }

    /** Every event of the job, once it finished. */
    List<TrainingEvent> finished(String jobId) throws InterruptedException {
      EventLog log = store.find(jobId).orElseThrow().events();
      CountDownLatch done = new CountDownLatch(1);
      Runnable listener = () -> {
        if (log.complete()) {
          done.countDown();
        }
      };
      log.addListener(listener);
      listener.run();
      assertTrue(done.await(2, TimeUnit.MINUTES), "job " + jobId + " did not finish");
      log.removeListener(listener);
      return log.read(0, Integer.MAX_VALUE).events();
    }

    /** The next job trains to success on both workers. */
    void nextJobTrainsOnBothWorkers() throws InterruptedException {
      List<TrainingEvent> events = finished(start(plan()));
      assertEquals(2, events.get(0).getJobStarted().getWorkers(), "placed on both workers");
      assertEquals(JobState.JOB_STATE_SUCCEEDED, last(events).getJobFinished().getState(),
          last(events).toString());
    }
  }

  private static TrainingPlan plan() {
    try {
      JobSpec spec = Specs.example("arithmetic").toBuilder()
          .setStop(StopCondition.newBuilder().setMaxSteps(40)).build();
      return JobSpecCompiler.compile(spec);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static TrainingEvent last(List<TrainingEvent> events) {
    return events.get(events.size() - 1);
  }

  @Test
  void aWorkerThatThrowsInEvaluationIsReplacedItsTasksMoveAndTheJobSucceeds() throws Exception {
    Server server = new Server();
    ActorRef<Worker.Command> before = server.expectWorkers(2).get(1).ref();
    server.fault.throwOn(Worker.Evaluate.class);
    List<TrainingEvent> events = server.finished(server.start(plan()));

    assertTrue(events.stream().anyMatch(e -> e.hasWorkerLost()
        && e.getWorkerLost().getWorker().equals("worker-1")), "worker-1 lost");
    assertTrue(events.stream().anyMatch(TrainingEvent::hasTasksMoved), "its tasks moved");
    assertEquals(JobState.JOB_STATE_SUCCEEDED, last(events).getJobFinished().getState(),
        last(events).toString());
    // Out of placement while it is down, back once the fresh one is ready.
    assertEquals(List.of("worker-0"), server.expectWorkers(1).stream()
        .map(JobManager.WorkerHandle::name).toList());
    List<JobManager.WorkerHandle> after = server.expectWorkers(2);
    assertEquals("worker-1", after.get(1).name());
    assertNotEquals(before, after.get(1).ref(), "a fresh actor");
    server.nextJobTrainsOnBothWorkers();
  }

  @Test
  void anAsyncJobUpdatingInPlaceLosesAWorkerMovesItsTasksAndTrainsEveryStepOnce()
      throws Exception {
    Server server = new Server();
    server.expectWorkers(2);
    JobSpec spec = Specs.example("arithmetic").toBuilder()
        .setStop(StopCondition.newBuilder().setMaxSteps(200))
        .setConsistency(tandem.api.v1.ConsistencySpec.newBuilder().setMode("async")
            .setStepsInFlight(4))
        .build();
    server.fault.throwOn(Worker.RunStep.class);
    List<TrainingEvent> events = server.finished(server.start(JobSpecCompiler.compile(spec)));

    assertTrue(events.stream().anyMatch(e -> e.hasWorkerLost()
        && e.getWorkerLost().getWorker().equals("worker-1")), "worker-1 lost");
    assertTrue(events.stream().anyMatch(TrainingEvent::hasTasksMoved), "its tasks moved");
    assertEquals(JobState.JOB_STATE_SUCCEEDED, last(events).getJobFinished().getState(),
        last(events).toString());
    List<Long> steps = events.stream().filter(TrainingEvent::hasStepCompleted)
        .map(e -> e.getStepCompleted().getStep()).sorted().toList();
    assertEquals(java.util.stream.LongStream.rangeClosed(1, 200).boxed().toList(), steps,
        "every step completed once");
  }

  @Test
  void aWorkerThatThrowsTakingItsTasksFailsTheJobCleanlyAndTheNextJobTrains() throws Exception {
    Server server = new Server();
    server.expectWorkers(2);
    server.fault.throwOn(Worker.AssignTasks.class);
    List<TrainingEvent> events = server.finished(server.start(plan()));

    assertEquals(JobState.JOB_STATE_FAILED, last(events).getJobFinished().getState());
    assertTrue(last(events).getJobFinished().getMessage().contains("worker-1 stopped"),
        last(events).getJobFinished().getMessage());
    server.expectWorkers(1);
    server.expectWorkers(2);
    server.nextJobTrainsOnBothWorkers();
  }

  @Test
  void anExceptionInTheSharedParameterActorFailsTheJobCleanlyAndTheNextJobTrains()
      throws Exception {
    Server server = new Server();
    server.expectWorkers(2);
    // Worker-1's gradients reach the shared-parameter actor with a module the job does not
    // share: applying them throws there.
    server.fault.change(Worker.AssignTasks.class, message -> {
      Worker.AssignTasks assign = (Worker.AssignTasks) message;
      TaskAssignment a = assign.assignment();
      ActorRef<Worker.SharedGradients> corrupting = testKit.spawn(
          Behaviors.<Worker.SharedGradients>receiveMessage(gradients -> {
            Map<String, INDArray> more = new HashMap<>(gradients.gradients());
            more.put("no-such-module", Nd4j.ones(3));
            a.sharedParameters().tell(new Worker.SharedGradients(gradients.jobId(),
                gradients.step(), gradients.task(), gradients.trunkVersion(), gradients.loss(),
                more, gradients.worker()));
            return Behaviors.same();
          }));
      return new Worker.AssignTasks(new TaskAssignment(a.jobId(), a.plan(), a.tasks(),
          a.headParameters(), a.trunk(), corrupting, a.coordinator()), assign.replyTo());
    });
    List<TrainingEvent> events = server.finished(server.start(plan()));

    assertEquals(JobState.JOB_STATE_FAILED, last(events).getJobFinished().getState());
    assertEquals("the shared-parameter actor stopped",
        last(events).getJobFinished().getMessage());
    server.nextJobTrainsOnBothWorkers();
  }
}
