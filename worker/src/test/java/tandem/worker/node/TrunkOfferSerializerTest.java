package tandem.worker.node;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.worker.TrunkSnapshot;
import tandem.worker.Worker;

/**
 * The coalesced trunk version messages cross the cluster wire through the serializers the
 * reference config binds: {@link TrunkOfferSerializer}, which nests the worker protocol's
 * {@link Worker.NewTrunkVersion}.
 */
class TrunkOfferSerializerTest {

  private static final ActorTestKit testKit = ActorTestKit.create();
  private static final Serialization serialization =
      SerializationExtension.get(Adapter.toClassic(testKit.system()));

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @SuppressWarnings("unchecked")
  private static <T> T trip(T message) {
    var serializer = serialization.findSerializerFor(message);
    assertInstanceOf(TrunkOfferSerializer.class, serializer, "bound over Worker$Command's");
    return (T) serialization.deserialize(serializer.toBinary(message), serializer.identifier(),
        Serializers.manifestFor(serializer, message)).get();
  }

  @Test
  void anOfferArrivesWithItsTensorsAndWhereToSayItIsHeld() {
    TestProbe<Worker.TrunkVersionHeld> held = testKit.createTestProbe();
    INDArray trunk = Nd4j.createFromArray(1.5f, -0f, Float.MAX_VALUE);
    Worker.OfferTrunkVersion back = trip(new Worker.OfferTrunkVersion("job",
        new TrunkSnapshot(7, Map.of("trunk", trunk)), held.ref()));
    assertEquals("job", back.jobId());
    assertEquals(7, back.snapshot().version());
    assertArrayEquals(trunk.toFloatVector(), back.snapshot().parameters().get("trunk")
        .toFloatVector(), 0f);
    assertEquals(held.ref(), back.replyTo());
  }

  @Test
  void heldArrivesWithTheWorker() {
    TestProbe<Worker.Command> worker = testKit.createTestProbe();
    Worker.TrunkVersionHeld held = new Worker.TrunkVersionHeld("job", 9, worker.ref());
    assertEquals(held, trip(held));
  }
}
