package tandem.worker.node;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.NotSerializableException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
    Worker.StepsDone batch = trip(new Worker.StepsDone(List.of(done,
        new Worker.StepDone("job", 4, "other", new StepResult(0.75, Map.of(), 8), 3, "w", 1,
            Duration.ofMillis(3), Duration.ofMillis(4)))));
    assertEquals(List.of(3L, 4L), batch.steps().stream().map(Worker.StepDone::step).toList());
    assertEquals(List.of("task", "other"),
        batch.steps().stream().map(Worker.StepDone::task).toList());
    assertEquals(Duration.ofMillis(4), batch.steps().get(1).computeTime());
    assertEquals(4, batch.step());
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

  /** One message of every kind, with every collection non-empty. */
  private static List<Object> everyKind() {
    var plan = TinyPlans.plan();
    String task = plan.graph().tasks().get(0).name();
    TestProbe<Worker.SharedGradients> shared = testKit.createTestProbe();
    TestProbe<Worker.StepOutcome> coordinator = testKit.createTestProbe();
    TestProbe<Worker.Assigned> assigned = testKit.createTestProbe();
    TestProbe<Worker.EvaluationDone> evaluated = testKit.createTestProbe();
    TestProbe<Worker.Heads> heads = testKit.createTestProbe();
    TestProbe<Worker.TaskState> state = testKit.createTestProbe();
    TestProbe<Worker.Command> worker = testKit.createTestProbe();
    TestProbe<Worker.TrunkVersionHeld> held = testKit.createTestProbe();
    Map<String, INDArray> tensors = new LinkedHashMap<>();
    tensors.put("trunk", Nd4j.createFromArray(1f, -2f, 3.5f));
    tensors.put("head", Nd4j.createFromArray(0.25f));
    Map<String, OptimizerSnapshot> optimizers = Map.of("head",
        new OptimizerSnapshot(5, new float[] {0.1f, 0.2f}));
    return List.of(
        // One head: the assignment keeps its heads in an unordered Map.copyOf.
        new Worker.AssignTasks(new TaskAssignment("job", plan, List.of(task),
            Map.of("head", Nd4j.createFromArray(4f, 5f)),
            new TrunkSnapshot(4, tensors), shared.ref(), coordinator.ref()), assigned.ref()),
        new Worker.RunStep("job", 3, "task", 2, System.nanoTime()),
        new Worker.NewTrunkVersion("job", new TrunkSnapshot(7, tensors)),
        new Worker.OfferTrunkVersion("job", new TrunkSnapshot(8, tensors), held.ref()),
        new Worker.TrunkVersionHeld("job", 8, worker.ref()),
        new Worker.Evaluate("job", 6, evaluated.ref()),
        new Worker.GetHeads("job", heads.ref()),
        new Worker.ReturnGradients("job", Map.of()),
        new Worker.ReleaseJob("job"),
        new Worker.GetTaskState("job", state.ref()),
        new Worker.RestoreTasks("job", optimizers, Map.of("task", 12L)),
        new Worker.Assigned("job", "w", List.of("t1", "t2")),
        new Worker.StepDone("job", 3, "task", new StepResult(0.5, Map.of("out", 0.25), 4), 2, "w",
            9, Duration.ofMillis(1), Duration.ofMillis(2)),
        new Worker.StepFailed("job", 3, "task", "w", "reason"),
        new Worker.SharedGradients("job", 3, "task", 2, 0.5, tensors, worker.ref()),
        new Worker.EvaluationDone("job", "w", Map.of("task", Map.of("accuracy", 0.75))),
        new Worker.Heads("job", "w", tensors),
        new Worker.TaskState("job", "w", tensors, optimizers, Map.of("task", 12L)));
  }

  @Test
  void everyMessageKindRoundTripsToTheSameBytes() throws Exception {
    List<Object> messages = everyKind();
    Set<String> manifests = new HashSet<>();
    for (Object message : messages) {
      byte[] bytes = serializer.toBinary(message);
      assertEquals(WorkerProtocolSerializer.VERSION, bytes[0], "the version comes first");
      Object back = serializer.fromBinary(bytes, serializer.manifest(message));
      assertEquals(message.getClass(), back.getClass());
      if (back instanceof Worker.RunStep run) {
        // Carries the time since dispatch, so its bytes differ on each trip.
        assertEquals(List.of("job", 3L, "task", 2L),
            List.of(run.jobId(), run.step(), run.task(), run.minTrunkVersion()));
      } else {
        assertArrayEquals(bytes, serializer.toBinary(back), message.getClass().getSimpleName());
      }
      manifests.add(serializer.manifest(message));
    }
    assertEquals(18, manifests.size(), "every kind once: " + manifests);
    Set<Class<?>> sampled = new HashSet<>();
    messages.forEach(message -> sampled.add(message.getClass()));
    for (Class<?> command : Worker.Command.class.getPermittedSubclasses()) {
      // A private one is a worker's message to itself, which never crosses nodes.
      if (!java.lang.reflect.Modifier.isPrivate(command.getModifiers())) {
        assertTrue(sampled.contains(command), command + " has no sample here");
      }
    }
  }

  @Test
  void everyTruncationIsRefusedNamingTheMessage() {
    for (Object message : everyKind()) {
      byte[] bytes = serializer.toBinary(message);
      String manifest = serializer.manifest(message);
      String kind = "Worker." + message.getClass().getSimpleName();
      for (int length = 0; length < bytes.length; length++) {
        byte[] cut = Arrays.copyOf(bytes, length);
        NotSerializableException e = assertThrows(NotSerializableException.class,
            () -> serializer.fromBinary(cut, manifest), kind + " cut to " + length + " bytes");
        assertTrue(e.getMessage().startsWith("cannot read " + kind + " from " + length
            + " bytes"), e.getMessage());
      }
    }
  }

  @Test
  void aLengthOrCountBeyondTheRestIsRefusedBeforeAnythingIsSizedByIt() {
    byte[] release = serializer.toBinary(new Worker.ReleaseJob("job"));
    ByteBuffer.wrap(release).order(ByteOrder.LITTLE_ENDIAN).putInt(1, Integer.MAX_VALUE);
    NotSerializableException e = assertThrows(NotSerializableException.class,
        () -> serializer.fromBinary(release, "X"));
    assertTrue(e.getMessage().contains("Worker.ReleaseJob")
        && e.getMessage().contains("a string of 2147483647 bytes at byte 1, but 3 bytes are left"),
        e.getMessage());

    // version, "job", the trunk version, one tensor named "trunk": its float count at byte 29.
    Map<String, INDArray> trunk = Map.of("trunk", Nd4j.createFromArray(1f, 2f));
    byte[] version = serializer.toBinary(new Worker.NewTrunkVersion("job",
        new TrunkSnapshot(7, trunk)));
    for (long lie : new long[] {3, Long.MAX_VALUE / 2, -1}) {
      ByteBuffer.wrap(version).order(ByteOrder.LITTLE_ENDIAN).putLong(29, lie);
      e = assertThrows(NotSerializableException.class, () -> serializer.fromBinary(version, "T"));
      assertTrue(e.getMessage().contains("a tensor of " + lie + " floats at byte 29, but the 8 "
          + "bytes left hold at most 2"), e.getMessage());
    }
    ByteBuffer.wrap(version).order(ByteOrder.LITTLE_ENDIAN).putInt(16, Integer.MAX_VALUE);
    e = assertThrows(NotSerializableException.class, () -> serializer.fromBinary(version, "T"));
    assertTrue(e.getMessage().contains("a count of 2147483647 tensors at byte 16"),
        e.getMessage());
  }

  @Test
  void aMessageOfAnotherVersionIsRefusedNamingBothVersions() {
    byte[] bytes = serializer.toBinary(new Worker.ReleaseJob("job"));
    bytes[0] = (byte) (WorkerProtocolSerializer.VERSION + 1);

    NotSerializableException e = assertThrows(NotSerializableException.class,
        () -> serializer.fromBinary(bytes, "X"));

    assertTrue(e.getMessage().contains("cannot read Worker.ReleaseJob: expected worker protocol "
        + "version " + WorkerProtocolSerializer.VERSION + ", found version "
        + (WorkerProtocolSerializer.VERSION + 1)), e.getMessage());
  }

  @Test
  void bytesAfterTheEndOfAMessageAreRefused() {
    byte[] bytes = serializer.toBinary(new Worker.ReleaseJob("job"));
    byte[] longer = Arrays.copyOf(bytes, bytes.length + 2);

    NotSerializableException e = assertThrows(NotSerializableException.class,
        () -> serializer.fromBinary(longer, "X"));

    assertTrue(e.getMessage().contains("expected the message to end at byte " + bytes.length
        + ", but 2 more bytes follow"), e.getMessage());
  }
}
