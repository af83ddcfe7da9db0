package tandem.worker.node;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.NotSerializableException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.SerializerWithStringManifest;
import tandem.api.v1.JobSpec;
import tandem.model.spec.InvalidSpecException;
import tandem.model.spec.JobSpecCompiler;
import tandem.model.spec.TrainingPlan;
import tandem.model.train.StepResult;
import tandem.worker.OptimizerSnapshot;
import tandem.worker.TaskAssignment;
import tandem.worker.TrunkSnapshot;
import tandem.worker.Worker;

/**
 * The worker protocol between cluster nodes, without Java serialization: a version byte, then
 * numbers and strings in a small little-endian layout ({@link WireWriter}), tensors as raw
 * little-endian float32 buffers, actor refs in Pekko's string form. Every length and count read
 * is checked against the bytes left ({@link WireReader}); Protobuf would do that too, but would
 * copy each tensor through a {@code ByteString} where this layout copies ND4J's native buffer
 * straight into the message and back. Registered for every worker message in
 * reference.conf; inside one JVM nothing is serialized.
 *
 * <p>Three messages change on the way: an assignment carries the job spec, and the receiving
 * node compiles it into its own plan (data is read where the head lives; compiled plans are kept
 * per spec, so several workers of a node load a data set once); {@link Worker.ReturnGradients}
 * travels without its arrays (sending them back would double a step's traffic: the remote worker
 * allocates new ones); and {@link Worker.RunStep} carries the time since dispatch instead of a
 * {@link System#nanoTime()}, which means nothing on another machine. Thread-safe.
 */
public final class WorkerProtocolSerializer extends SerializerWithStringManifest {

  /** Unique among the serializers of the actor system (Pekko's own are below 100). */
  private static final int IDENTIFIER = 7301;
  private static final int PLANS_KEPT = 8;
  /**
   * The first byte of every message. Raise it with any change to a message's layout: a node of
   * another version is then refused with both versions named, instead of misreading the bytes.
   */
  static final byte VERSION = 2;
  private static final Map<Class<?>, String> MANIFESTS = Map.ofEntries(
      Map.entry(Worker.AssignTasks.class, "A"), Map.entry(Worker.RunStep.class, "R"),
      Map.entry(Worker.NewTrunkVersion.class, "T"), Map.entry(Worker.Evaluate.class, "E"),
      Map.entry(Worker.GetHeads.class, "H"), Map.entry(Worker.ReturnGradients.class, "G"),
      Map.entry(Worker.ReleaseJob.class, "X"), Map.entry(Worker.GetTaskState.class, "S"),
      Map.entry(Worker.RestoreTasks.class, "O"), Map.entry(Worker.Assigned.class, "a"),
      Map.entry(Worker.StepDone.class, "d"), Map.entry(Worker.StepsDone.class, "D"),
      Map.entry(Worker.StepFailed.class, "f"),
      Map.entry(Worker.SharedGradients.class, "g"), Map.entry(Worker.EvaluationDone.class, "e"),
      Map.entry(Worker.Heads.class, "h"), Map.entry(Worker.TaskState.class, "s"),
      Map.entry(Worker.OfferTrunkVersion.class, "V"),
      Map.entry(Worker.TrunkVersionHeld.class, "v"));

  private final ExtendedActorSystem system;
  private volatile ActorRefResolver resolver;
  private final Map<ByteString, TrainingPlan> plans = new ConcurrentHashMap<>();

  public WorkerProtocolSerializer(ExtendedActorSystem system) {
    this.system = system;
  }

  @Override
  public int identifier() {
    return IDENTIFIER;
  }

  @Override
  public String manifest(Object message) {
    String manifest = MANIFESTS.get(message.getClass());
    if (manifest == null) {
      throw new IllegalArgumentException("expected a worker protocol message, found "
          + message.getClass().getName());
    }
    return manifest;
  }

  @Override
  public byte[] toBinary(Object message) {
    WireWriter out = new WireWriter(256).putByte(VERSION);
    if (message instanceof Worker.AssignTasks m) {
      TaskAssignment a = m.assignment();
      if (a.direct() != null) {
        throw new IllegalArgumentException("job " + a.jobId() + ": an assignment that updates"
            + " the shared modules in place (DirectTrunk) cannot go to another node");
      }
      out.putString(a.jobId()).putBytes(a.plan().spec().toByteArray()).putStrings(a.tasks())
          .putTensors(a.headParameters()).putLong(a.trunk().version())
          .putTensors(a.trunk().parameters()).putString(ref(a.sharedParameters()))
          .putString(ref(a.coordinator())).putString(ref(m.replyTo()));
    } else if (message instanceof Worker.RunStep m) {
      out.putString(m.jobId()).putLong(m.step()).putString(m.task()).putLong(m.minTrunkVersion())
          .putLong(Math.max(0, System.nanoTime() - m.dispatchedAtNanos()));
    } else if (message instanceof Worker.NewTrunkVersion m) {
      out.putString(m.jobId()).putLong(m.snapshot().version())
          .putTensors(m.snapshot().parameters());
    } else if (message instanceof Worker.OfferTrunkVersion m) {
      out.putString(m.jobId()).putLong(m.snapshot().version())
          .putTensors(m.snapshot().parameters()).putString(ref(m.replyTo()));
    } else if (message instanceof Worker.TrunkVersionHeld m) {
      out.putString(m.jobId()).putLong(m.version()).putString(ref(m.worker()));
    } else if (message instanceof Worker.Evaluate m) {
      out.putString(m.jobId()).putLong(m.minTrunkVersion()).putString(ref(m.replyTo()));
    } else if (message instanceof Worker.GetHeads m) {
      out.putString(m.jobId()).putString(ref(m.replyTo()));
    } else if (message instanceof Worker.ReturnGradients m) {
      out.putString(m.jobId());
    } else if (message instanceof Worker.ReleaseJob m) {
      out.putString(m.jobId());
    } else if (message instanceof Worker.GetTaskState m) {
      out.putString(m.jobId()).putString(ref(m.replyTo()));
    } else if (message instanceof Worker.RestoreTasks m) {
      out.putString(m.jobId());
      putOptimizers(out, m.optimizers());
      putCounts(out, m.batchesDrawn());
    } else if (message instanceof Worker.Assigned m) {
      out.putString(m.jobId()).putString(m.worker()).putStrings(m.tasks());
    } else if (message instanceof Worker.StepDone m) {
      putStepDone(out, m);
    } else if (message instanceof Worker.StepsDone m) {
      out.putInt(m.steps().size());
      m.steps().forEach(done -> putStepDone(out, done));
    } else if (message instanceof Worker.StepFailed m) {
      out.putString(m.jobId()).putLong(m.step()).putString(m.task()).putString(m.worker())
          .putString(m.reason());
    } else if (message instanceof Worker.SharedGradients m) {
      out.putString(m.jobId()).putLong(m.step()).putString(m.task()).putLong(m.trunkVersion())
          .putDouble(m.loss()).putTensors(m.gradients()).putString(ref(m.worker()));
    } else if (message instanceof Worker.EvaluationDone m) {
      out.putString(m.jobId()).putString(m.worker()).putInt(m.metrics().size());
      m.metrics().forEach((task, metrics) -> {
        out.putString(task);
        putValues(out, metrics);
      });
    } else if (message instanceof Worker.Heads m) {
      out.putString(m.jobId()).putString(m.worker()).putTensors(m.parameters());
    } else if (message instanceof Worker.TaskState m) {
      out.putString(m.jobId()).putString(m.worker()).putTensors(m.heads());
      putOptimizers(out, m.optimizers());
      putCounts(out, m.batchesDrawn());
    } else {
      throw new IllegalArgumentException("expected a worker protocol message, found "
          + message.getClass().getName());
    }
    return out.toByteArray();
  }

  /**
   * Reads a message of this node's {@link #VERSION}; a truncated message, a length or count larger
   * than the bytes left, or bytes after the end are a {@link NotSerializableException} that names
   * the message kind and what was wrong (Pekko logs it and drops the message).
   */
  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    WireReader in = new WireReader(bytes);
    try {
      byte version = in.getByte();
      if (version != VERSION) {
        throw new NotSerializableException("cannot read " + kind(manifest) + ": expected worker "
            + "protocol version " + VERSION + ", found version " + version + " (every node of a "
            + "cluster must run the same Tandem version)");
      }
      Object message = read(in, manifest);
      in.finish();
      return message;
    } catch (IllegalArgumentException e) {
      NotSerializableException failure = new NotSerializableException("cannot read "
          + kind(manifest) + " from " + bytes.length + " bytes: expected " + e.getMessage());
      failure.initCause(e);
      throw failure;
    }
  }

  private static String kind(String manifest) {
    return MANIFESTS.entrySet().stream().filter(entry -> entry.getValue().equals(manifest))
        .map(entry -> "Worker." + entry.getKey().getSimpleName()).findFirst()
        .orElse("an unknown worker protocol message ('" + manifest + "')");
  }

  private Object read(WireReader in, String manifest) throws NotSerializableException {
    switch (manifest) {
      case "A": {
        String jobId = in.getString();
        TrainingPlan plan = plan(in.getBytes());
        List<String> tasks = in.getStrings();
        var heads = in.getTensors();
        long version = in.getLong();
        TrunkSnapshot trunk = new TrunkSnapshot(version, in.getTensors());
        ActorRef<Worker.SharedGradients> shared = resolve(in.getString());
        ActorRef<Worker.StepOutcome> coordinator = resolve(in.getString());
        return new Worker.AssignTasks(new TaskAssignment(jobId, plan, tasks, heads, trunk, shared,
            coordinator), resolve(in.getString()));
      }
      case "R":
        return new Worker.RunStep(in.getString(), in.getLong(), in.getString(), in.getLong(),
            System.nanoTime() - in.getLong());
      case "T": {
        String jobId = in.getString();
        long version = in.getLong();
        return new Worker.NewTrunkVersion(jobId, new TrunkSnapshot(version, in.getTensors()));
      }
      case "V": {
        String jobId = in.getString();
        long version = in.getLong();
        TrunkSnapshot snapshot = new TrunkSnapshot(version, in.getTensors());
        return new Worker.OfferTrunkVersion(jobId, snapshot, resolve(in.getString()));
      }
      case "v":
        return new Worker.TrunkVersionHeld(in.getString(), in.getLong(), resolve(in.getString()));
      case "E":
        return new Worker.Evaluate(in.getString(), in.getLong(), resolve(in.getString()));
      case "H":
        return new Worker.GetHeads(in.getString(), resolve(in.getString()));
      case "G":
        return new Worker.ReturnGradients(in.getString(), Map.of());
      case "X":
        return new Worker.ReleaseJob(in.getString());
      case "S":
        return new Worker.GetTaskState(in.getString(), resolve(in.getString()));
      case "O":
        return new Worker.RestoreTasks(in.getString(), getOptimizers(in), getCounts(in));
      case "a":
        return new Worker.Assigned(in.getString(), in.getString(), in.getStrings());
      case "d":
        return getStepDone(in);
      case "D": {
        int count = in.getCount("steps", Long.BYTES);
        List<Worker.StepDone> steps = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
          steps.add(getStepDone(in));
        }
        return new Worker.StepsDone(steps);
      }
      case "f":
        return new Worker.StepFailed(in.getString(), in.getLong(), in.getString(), in.getString(),
            in.getString());
      case "g":
        return new Worker.SharedGradients(in.getString(), in.getLong(), in.getString(),
            in.getLong(), in.getDouble(), in.getTensors(), resolve(in.getString()));
      case "e": {
        String jobId = in.getString();
        String worker = in.getString();
        int tasks = in.getCount("tasks", Integer.BYTES);
        Map<String, Map<String, Double>> metrics = new LinkedHashMap<>();
        for (int i = 0; i < tasks; i++) {
          metrics.put(in.getString(), getValues(in));
        }
        return new Worker.EvaluationDone(jobId, worker, metrics);
      }
      case "h":
        return new Worker.Heads(in.getString(), in.getString(), in.getTensors());
      case "s":
        return new Worker.TaskState(in.getString(), in.getString(), in.getTensors(),
            getOptimizers(in), getCounts(in));
      default:
        throw new NotSerializableException("unknown worker protocol manifest '" + manifest + "'");
    }
  }

  /** The plan of a spec, compiled here once per spec (data is read on this node). */
  private TrainingPlan plan(byte[] specBytes) throws NotSerializableException {
    ByteString key = ByteString.copyFrom(specBytes);
    TrainingPlan cached = plans.get(key);
    if (cached != null) {
      return cached;
    }
    try {
      TrainingPlan plan = JobSpecCompiler.compile(JobSpec.parseFrom(specBytes));
      if (plans.size() >= PLANS_KEPT) {
        plans.clear();
      }
      plans.put(key, plan);
      return plan;
    } catch (InvalidProtocolBufferException | InvalidSpecException e) {
      NotSerializableException failure = new NotSerializableException(
          "cannot compile a job spec on this worker node: " + e.getMessage());
      failure.initCause(e);
      throw failure;
    }
  }

  private static void putStepDone(WireWriter out, Worker.StepDone m) {
    if (m.applied() != null) {
      throw new IllegalArgumentException("job " + m.jobId() + ": a step applied in place"
          + " (DirectTrunk) cannot be reported to another node");
    }
    out.putString(m.jobId()).putLong(m.step()).putString(m.task())
        .putDouble(m.result().loss()).putInt(m.result().examples());
    putValues(out, m.result().outputLosses());
    out.putLong(m.trunkVersion()).putString(m.worker()).putLong(m.batch())
        .putLong(m.queueTime().toNanos()).putLong(m.computeTime().toNanos());
  }

  private static Worker.StepDone getStepDone(WireReader in) {
    String jobId = in.getString();
    long step = in.getLong();
    String task = in.getString();
    double loss = in.getDouble();
    int examples = in.getInt();
    StepResult result = new StepResult(loss, getValues(in), examples);
    return new Worker.StepDone(jobId, step, task, result, in.getLong(), in.getString(),
        in.getLong(), Duration.ofNanos(in.getLong()), Duration.ofNanos(in.getLong()));
  }

  private static void putValues(WireWriter out, Map<String, Double> values) {
    out.putInt(values.size());
    values.forEach((name, value) -> out.putString(name).putDouble(value));
  }

  private static Map<String, Double> getValues(WireReader in) {
    int count = in.getCount("values", Integer.BYTES + Double.BYTES);
    Map<String, Double> values = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      values.put(in.getString(), in.getDouble());
    }
    return values;
  }

  private static void putCounts(WireWriter out, Map<String, Long> counts) {
    out.putInt(counts.size());
    counts.forEach((name, count) -> out.putString(name).putLong(count));
  }

  private static Map<String, Long> getCounts(WireReader in) {
    int size = in.getCount("counts", Integer.BYTES + Long.BYTES);
    Map<String, Long> counts = new LinkedHashMap<>();
    for (int i = 0; i < size; i++) {
      counts.put(in.getString(), in.getLong());
    }
    return counts;
  }

  private static void putOptimizers(WireWriter out, Map<String, OptimizerSnapshot> optimizers) {
    out.putInt(optimizers.size());
    optimizers.forEach((module, snapshot) ->
        out.putString(module).putInt(snapshot.iteration()).putFloats(snapshot.state()));
  }

  private static Map<String, OptimizerSnapshot> getOptimizers(WireReader in) {
    int size = in.getCount("optimizer states", Integer.BYTES * 2 + Long.BYTES);
    Map<String, OptimizerSnapshot> optimizers = new LinkedHashMap<>();
    for (int i = 0; i < size; i++) {
      String module = in.getString();
      int iteration = in.getInt();
      optimizers.put(module, new OptimizerSnapshot(iteration, in.getFloats()));
    }
    return optimizers;
  }

  private String ref(ActorRef<?> ref) {
    return resolver().toSerializationFormat(ref);
  }

  private <T> ActorRef<T> resolve(String serialized) {
    return resolver().resolveActorRef(serialized);
  }

  private ActorRefResolver resolver() {
    if (resolver == null) {
      resolver = ActorRefResolver.get(Adapter.toTyped(system));
    }
    return resolver;
  }
}
