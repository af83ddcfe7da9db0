package tandem.bench.coordinator;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.protobuf.Timestamp;
import com.typesafe.config.ConfigFactory;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tandem.api.v1.ConsistencySpec;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.StopCondition;
import tandem.api.v1.TrainingEvent;
import tandem.bench.MachineInfo;
import tandem.bench.twohead.TwoHeadData;
import tandem.bench.twohead.TwoHeadJob;
import tandem.model.spec.JobSpecCompiler;
import tandem.model.spec.TrainingPlan;
import tandem.orchestrator.job.Coordinator;
import tandem.orchestrator.job.EventLog;
import tandem.orchestrator.job.JobRecord;
import tandem.worker.Worker;

/**
 * How many steps per second the coordinator can schedule: the real {@link Coordinator} and
 * shared-parameter actor, with every step's event appended to the job's log, over workers that
 * compute nothing ({@link NoOpWorker}). The target is 100,000 steps/s, so that the coordinator
 * is never what limits a cluster of GPU workers.
 */
@Command(name = "coordinator", mixinStandardHelpOptions = true,
    description = "Steps per second the coordinator schedules with no-op workers (target >= 100,000).")
public final class CoordinatorBench implements Callable<Integer> {

  @Option(names = "--steps", defaultValue = "400000", description = "Steps per run (default: ${DEFAULT-VALUE}).")
  long steps;

  @Option(names = "--workers", defaultValue = "4", description = "No-op workers (default: ${DEFAULT-VALUE}).")
  int workers;

  @Option(names = "--in-flight", defaultValue = "32",
      description = "Steps in flight per worker (default: ${DEFAULT-VALUE}).")
  int inFlight;

  @Option(names = "--repeats", defaultValue = "3", description = "Measured runs (default: ${DEFAULT-VALUE}).")
  int repeats;

  @Option(names = "--json", description = "Print one JSON object instead of a table.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    PrintStream out = System.out;
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("tandem-coordinator-bench");
    java.nio.file.Path data = dir.resolve("two-head.csv");
    TwoHeadData.writeCsv(data, 256, 1);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "coordinator-bench",
        ConfigFactory.load());
    try {
      List<ActorRef<Worker.Command>> refs = new ArrayList<>();
      List<String> names = new ArrayList<>();
      for (int i = 0; i < workers; i++) {
        names.add("noop-" + i);
        refs.add(system.systemActorOf(NoOpWorker.create("noop-" + i), "noop-" + i,
            org.apache.pekko.actor.typed.Props.empty()));
      }
      run(system, refs, names, data, Math.min(steps, 50_000), "warm-up");
      List<Double> rates = new ArrayList<>();
      for (int r = 1; r <= repeats; r++) {
        double rate = run(system, refs, names, data, steps, "run-" + r);
        rates.add(rate);
        if (!json) {
          out.printf("run %d: %,.0f steps/s%n", r, rate);
        }
      }
      double median = rates.stream().sorted().toList().get(rates.size() / 2);
      MachineInfo machine = MachineInfo.current();
      if (json) {
        JsonObject result = new JsonObject();
        result.addProperty("benchmark", "coordinator");
        result.addProperty("steps", steps);
        result.addProperty("workers", workers);
        result.addProperty("stepsInFlightPerWorker", inFlight);
        result.addProperty("medianStepsPerSecond", median);
        com.google.gson.JsonArray runs = new com.google.gson.JsonArray();
        rates.forEach(runs::add);
        result.add("stepsPerSecond", runs);
        result.addProperty("target", 100_000);
        result.add("machine", machine.toJson());
        out.println(new GsonBuilder().setPrettyPrinting().create().toJson(result));
      } else {
        out.printf("coordinator: %d no-op workers, %d steps in flight each, async, %,d steps per run;"
            + " %s%n", workers, inFlight, steps, machine.describe());
        out.printf("median %,.0f steps/s (target 100,000): %s%n", median,
            median >= 100_000 ? "met" : "NOT met");
      }
      return 0;
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  /** One job over the no-op workers; steps per second from JobStarted to the last step. */
  private double run(ActorSystem<Void> system, List<ActorRef<Worker.Command>> refs,
      List<String> names, java.nio.file.Path data, long jobSteps, String name) throws Exception {
    JobSpec spec = TwoHeadJob.spec(data, jobSteps, 1).toBuilder()
        .setConsistency(ConsistencySpec.newBuilder().setMode("async").setStepsInFlight(inFlight))
        .setStop(StopCondition.newBuilder().setMaxSteps(jobSteps)).build();
    TrainingPlan plan = JobSpecCompiler.compile(spec);
    EventLog log = new EventLog(name, name, (int) Math.min(jobSteps + 16, 1_000_000),
        Instant.now());
    CompletableFuture<Void> finished = new CompletableFuture<>();
    log.addListener(() -> {
      if (log.complete()) {
        finished.complete(null);
      }
    });
    system.systemActorOf(Coordinator.create(new JobRecord(name, spec, log), plan, refs, names),
        name, org.apache.pekko.actor.typed.Props.empty());
    finished.get(10, TimeUnit.MINUTES);
    if (log.status().getState() != JobState.JOB_STATE_SUCCEEDED) {
      throw new IllegalStateException(name + " ended " + log.status());
    }
    Timestamp started = null;
    Timestamp lastStep = null;
    long from = 0;
    while (true) {
      EventLog.Slice slice = log.read(from, 100_000);
      for (TrainingEvent event : slice.events()) {
        if (event.hasJobStarted()) {
          started = event.getTime();
        } else if (event.hasStepCompleted()) {
          lastStep = event.getTime();
        }
        from = event.getSequence();
      }
      if (slice.complete() || slice.events().isEmpty()) {
        break;
      }
    }
    Duration elapsed = Duration.ofSeconds(lastStep.getSeconds() - started.getSeconds(),
        lastStep.getNanos() - started.getNanos());
    return jobSteps / (elapsed.toNanos() / 1e9);
  }
}
