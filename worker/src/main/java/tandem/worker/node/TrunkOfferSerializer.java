package tandem.worker.node;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.NotSerializableException;
import java.io.UncheckedIOException;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.SerializerWithStringManifest;
import org.apache.pekko.serialization.Serializers;
import tandem.worker.Worker;

/**
 * The two messages of coalesced trunk versions between cluster nodes ({@link
 * Worker.OfferTrunkVersion}, {@link Worker.TrunkVersionHeld}), bound to these classes in
 * reference.conf, which takes precedence over the worker protocol's binding of every
 * {@link Worker.Command}. The offered version itself goes as the {@link Worker.NewTrunkVersion}
 * that the worker protocol's serializer writes (tensors and all), nested with its serializer id
 * and manifest, so that this class does not depend on that format. Thread-safe.
 */
public final class TrunkOfferSerializer extends SerializerWithStringManifest {

  /** Unique among the serializers of the actor system; next to the worker protocol's 7301. */
  private static final int IDENTIFIER = 7302;

  private final ExtendedActorSystem system;
  private volatile ActorRefResolver resolver;

  public TrunkOfferSerializer(ExtendedActorSystem system) {
    this.system = system;
  }

  @Override
  public int identifier() {
    return IDENTIFIER;
  }

  @Override
  public String manifest(Object message) {
    if (message instanceof Worker.OfferTrunkVersion) return "O";
    if (message instanceof Worker.TrunkVersionHeld) return "H";
    throw new IllegalArgumentException("expected a trunk offer message, found "
        + message.getClass().getName());
  }

  @Override
  public byte[] toBinary(Object message) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      if (message instanceof Worker.OfferTrunkVersion m) {
        out.writeUTF(resolver().toSerializationFormat(m.replyTo()));
        Worker.NewTrunkVersion version = new Worker.NewTrunkVersion(m.jobId(), m.snapshot());
        Serialization serialization = SerializationExtension.get(system);
        var serializer = serialization.findSerializerFor(version);
        out.writeInt(serializer.identifier());
        out.writeUTF(Serializers.manifestFor(serializer, version));
        byte[] nested = serializer.toBinary(version);
        out.writeInt(nested.length);
        out.write(nested);
      } else if (message instanceof Worker.TrunkVersionHeld m) {
        out.writeUTF(m.jobId());
        out.writeLong(m.version());
        out.writeUTF(resolver().toSerializationFormat(m.worker()));
      } else {
        throw new IllegalArgumentException(manifest(message));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
      switch (manifest) {
        case "O": {
          String replyTo = in.readUTF();
          int serializer = in.readInt();
          String nestedManifest = in.readUTF();
          int length = in.readInt();
          if (length < 0 || length > in.available()) {
            throw new NotSerializableException("a trunk offer of " + bytes.length
                + " bytes says its version has " + length);
          }
          byte[] nested = in.readNBytes(length);
          Worker.NewTrunkVersion version = (Worker.NewTrunkVersion) SerializationExtension
              .get(system).deserialize(nested, serializer, nestedManifest).get();
          return new Worker.OfferTrunkVersion(version.jobId(), version.snapshot(),
              resolver().resolveActorRef(replyTo));
        }
        case "H":
          return new Worker.TrunkVersionHeld(in.readUTF(), in.readLong(),
              resolver().resolveActorRef(in.readUTF()));
        default:
          throw new NotSerializableException("unknown trunk offer manifest '" + manifest + "'");
      }
    } catch (IOException e) {
      NotSerializableException error = new NotSerializableException(e.getMessage());
      error.initCause(e);
      throw error;
    }
  }

  private ActorRefResolver resolver() {
    if (resolver == null) {
      resolver = ActorRefResolver.get(Adapter.toTyped(system));
    }
    return resolver;
  }
}
