package tandem.worker.node;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.model.train.StepResult;
import tandem.worker.OptimizerSnapshot;
import tandem.worker.TaskAssignment;
import tandem.worker.TinyPlans;
import tandem.worker.TrunkSnapshot;
import tandem.worker.Worker;

/** Every worker message survives the trip through the cluster wire format. */
class WorkerProtocolSerializerTest {

  private static final ActorTestKit testKit = ActorTestKit.create();
  private static final WorkerProtocolSerializer serializer = new WorkerProtocolSerializer(
      (ExtendedActorSystem) Adapter.toClassic(testKit.system()));

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @SuppressWarnings("unchecked")
  private static <T> T trip(T message) throws Exception {
    return (T) serializer.fromBinary(serializer.toBinary(message), serializer.manifest(message));
  }

  @Test
  void tensorsArriveBitForBit() throws Exception {
    INDArray trunk = Nd4j.createFromArray(1.5f, -0f, Float.MIN_VALUE, Float.MAX_VALUE, 3e-8f);
    Worker.NewTrunkVersion back = trip(new Worker.NewTrunkVersion("job",
        new TrunkSnapshot(7, Map.of("trunk", trunk))));
    assertEquals(7, back.snapshot().version());
    assertArrayEquals(trunk.toFloatVector(), back.snapshot().parameters().get("trunk")
        .toFloatVector(), 0f);
  }

  @Test
  void stepsOutcomesAndStateRoundTrip() throws Exception {
    TestProbe<Worker.Command> worker = testKit.createTestProbe();
    Worker.RunStep run = trip(new Worker.RunStep("job", 3, "task", 2, System.nanoTime()));
    assertEquals(List.of("job", 3L, "task", 2L),
        List.of(run.jobId(), run.step(), run.task(), run.minTrunkVersion()));
    Worker.StepDone done = trip(new Worker.StepDone("job", 3, "task",
        new StepResult(0.5, Map.of("out", 0.25), 4), 2, "w", 9, Duration.ofMillis(1),
        Duration.ofMillis(2)));
    assertEquals(0.25, done.result().outputLosses().get("out"));
    assertEquals(Duration.ofMillis(2), done.computeTime());
    Worker.SharedGradients gradients = trip(new Worker.SharedGradients("job", 3, "task", 2, 0.5,
        Map.of("trunk", Nd4j.createFromArray(1f, 2f)), worker.ref()));
    assertEquals(worker.ref(), gradients.worker());
    assertArrayEquals(new float[] {1f, 2f}, gradients.gradients().get("trunk").toFloatVector());
    Worker.TaskState state = trip(new Worker.TaskState("job", "w",
        Map.of("head", Nd4j.createFromArray(4f)),
        Map.of("head", new OptimizerSnapshot(5, new float[] {0.1f, 0.2f})), Map.of("task", 12L)));
    assertEquals(5, state.optimizers().get("head").iteration());
    assertArrayEquals(new float[] {0.1f, 0.2f}, state.optimizers().get("head").state());
    assertEquals(12L, state.batchesDrawn().get("task"));
    Worker.ReturnGradients returned = trip(new Worker.ReturnGradients("job",
        Map.of("trunk", Nd4j.createFromArray(1f))));
    assertTrue(returned.gradients().isEmpty(), "arrays do not travel back");
  }

  @Test
  void anAssignmentCarriesTheSpecAndIsCompiledOnArrival() throws Exception {
    var plan = TinyPlans.plan();
    TestProbe<Worker.SharedGradients> shared = testKit.createTestProbe();
    TestProbe<Worker.StepOutcome> coordinator = testKit.createTestProbe();
    TestProbe<Worker.Assigned> assigned = testKit.createTestProbe();
    String task = plan.graph().tasks().get(0).name();
    Map<String, INDArray> heads = Map.of("a_head",
        Nd4j.createFromArray(1f, 2f, 3f));
    Worker.AssignTasks back = trip(new Worker.AssignTasks(new TaskAssignment("job", plan,
        List.of(task), heads, new TrunkSnapshot(0, Map.of()), shared.ref(), coordinator.ref()),
        assigned.ref()));
    assertEquals(plan.spec(), back.assignment().plan().spec());
    assertEquals(plan.graph().tasks().size(), back.assignment().plan().graph().tasks().size());
    assertEquals(coordinator.ref(), back.assignment().coordinator());
    assertEquals(assigned.ref(), back.replyTo());
    assertArrayEquals(new float[] {1f, 2f, 3f},
        back.assignment().headParameters().get("a_head").toFloatVector(), 0f);
  }
}
