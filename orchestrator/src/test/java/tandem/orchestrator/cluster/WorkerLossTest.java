package tandem.orchestrator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.grpc.ManagedChannel;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tandem.api.v1.CheckpointSpec;
import tandem.api.v1.Evaluation;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.TaskPlacement;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingServiceGrpc;
import tandem.orchestrator.ServerSettings;
import tandem.orchestrator.Specs;
import tandem.orchestrator.TandemServer;
import tandem.orchestrator.TestServers;

/**
 * The orchestrator (this JVM) and two worker nodes (child JVMs) on 127.0.0.1 train the
 * arithmetic job; one worker node is killed with SIGKILL after the first checkpoint, and the job
 * still ends with every task trained, its tasks moved to the other node.
 */
class WorkerLossTest {

  private static final Duration START = Duration.ofSeconds(60);

  @Test
  void aKilledWorkerNodesTasksMoveAndTheJobCompletes(@TempDir Path dir) throws Exception {
    int clusterPort;
    try (ServerSocket free = new ServerSocket(0)) {
      clusterPort = free.getLocalPort();
    }
    Config config = ConfigFactory.parseString(
        "pekko.cluster.split-brain-resolver.stable-after = 2s").withFallback(ConfigFactory.load());
    ServerSettings settings = ServerSettings.create(config).withHost("127.0.0.1").withPort(0)
        .withLocalWorkers(0).withMinWorkers(2).withJobDir(dir.resolve("jobs"))
        .withClusterPort(clusterPort).withClusterHost("127.0.0.1");
    JobSpec spec = Specs.example("arithmetic").toBuilder()
        .setCheckpoint(CheckpointSpec.newBuilder().setEverySteps(250)).build();
    try (TandemServer server = TandemServer.start(settings, config);
        ChildJvm first = worker(dir.resolve("worker-1.log"), clusterPort);
        ChildJvm second = worker(dir.resolve("worker-2.log"), clusterPort)) {
      String firstAddress = first.await("worker node pekko://tandem@([0-9.:]+) with", START)
          .group(1);
      second.await("worker node .* registered", START);
      ManagedChannel channel = TestServers.channel(server);
      try {
        var stub = TrainingServiceGrpc.newBlockingStub(channel);
        String jobId = stub.submitJob(SubmitJobRequest.newBuilder().setSpec(spec).build())
            .getJobId();
        // Killed as soon as the first checkpoint is on disk (seen in the server's own log).
        TestServers.awaitCheckpoint(server, jobId);
        first.kill();
        List<TrainingEvent> events = new ArrayList<>();
        stub.withDeadlineAfter(3, TimeUnit.MINUTES)
            .streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId).build())
            .forEachRemaining(events::add);
        TrainingEvent last = events.get(events.size() - 1);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, last.getJobFinished().getState(),
            last.toString());

        TrainingEvent started = events.stream().filter(TrainingEvent::hasJobStarted)
            .findFirst().orElseThrow();
        Set<String> onKilled = started.getJobStarted().getPlacementsList().stream()
            .filter(p -> p.getWorker().startsWith(firstAddress)).map(TaskPlacement::getTask)
            .collect(Collectors.toSet());
        assertFalse(onKilled.isEmpty(), "the killed node owned tasks: " + started);
        TrainingEvent lost = events.stream().filter(TrainingEvent::hasWorkerLost).findFirst()
            .orElseThrow(() -> new AssertionError("no worker_lost event"));
        assertTrue(lost.getWorkerLost().getWorker().startsWith(firstAddress), lost.toString());
        assertEquals(onKilled, Set.copyOf(lost.getWorkerLost().getTasksList()));
        int movedAt = events.indexOf(events.stream().filter(TrainingEvent::hasTasksMoved)
            .findFirst().orElseThrow(() -> new AssertionError("no tasks_moved event")));
        for (TaskPlacement placement : events.get(movedAt).getTasksMoved().getPlacementsList()) {
          assertFalse(placement.getWorker().startsWith(firstAddress), placement.toString());
        }
        // Every moved task trained on after the move, on the node that is left.
        for (String task : onKilled) {
          assertTrue(events.subList(movedAt, events.size()).stream()
              .anyMatch(e -> e.hasStepCompleted() && e.getStepCompleted().getTask().equals(task)
                  && !e.getStepCompleted().getWorker().startsWith(firstAddress)), task);
        }
        List<Evaluation> evaluations = events.stream()
            .filter(TrainingEvent::hasEvaluationCompleted).findFirst().orElseThrow()
            .getEvaluationCompleted().getEvaluationsList();
        assertEquals(8, evaluations.size());
        for (Evaluation evaluation : evaluations) {
          assertTrue(evaluation.getValue() >= 0.95, evaluation.toString());
        }
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private static ChildJvm worker(Path log, int clusterPort) throws Exception {
    return ChildJvm.start("tandem.worker.node.WorkerNodeMain", log,
        "--join", "127.0.0.1:" + clusterPort, "--workers", "1", "--host", "127.0.0.1");
  }
}
