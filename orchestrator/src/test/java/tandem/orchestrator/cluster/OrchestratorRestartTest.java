package tandem.orchestrator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tandem.api.v1.CheckpointSpec;
import tandem.api.v1.GetJobRequest;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.JobStatus;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingServiceGrpc;
import tandem.orchestrator.Specs;

/**
 * The orchestrator in a child JVM is killed with SIGKILL after its job's first checkpoint; a new
 * orchestrator on the same job directory resumes the job from that checkpoint and completes it.
 */
class OrchestratorRestartTest {

  private static final Duration START = Duration.ofSeconds(60);

  @Test
  void aKilledOrchestratorsJobResumesFromItsCheckpoint(@TempDir Path dir) throws Exception {
    JobSpec spec = Specs.example("arithmetic").toBuilder()
        .setCheckpoint(CheckpointSpec.newBuilder().setEverySteps(300)).build();
    Path jobDir = dir.resolve("jobs");
    String jobId;
    long checkpointStep;
    try (ChildJvm first = orchestrator(dir.resolve("first.log"), jobDir)) {
      int port = port(first);
      ManagedChannel channel = channel(port);
      try {
        var stub = TrainingServiceGrpc.newBlockingStub(channel);
        jobId = stub.submitJob(SubmitJobRequest.newBuilder().setSpec(spec).build()).getJobId();
        // Killed as soon as the server logs its first checkpoint: a subscriber hears of it a
        // linger (100 ms) later, and on a fast machine the job could end in that time.
        checkpointStep = Long.parseLong(first.await(
            "job " + jobId + ": checkpoint at step (\\d+)", START).group(1));
        first.kill();
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
    assertTrue(Files.exists(jobDir.resolve(jobId).resolve("LATEST")));
    try (ChildJvm second = orchestrator(dir.resolve("second.log"), jobDir)) {
      ManagedChannel channel = channel(port(second));
      try {
        var stub = TrainingServiceGrpc.newBlockingStub(channel);
        List<TrainingEvent> events = new ArrayList<>();
        stub.withDeadlineAfter(2, TimeUnit.MINUTES)
            .streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId).build())
            .forEachRemaining(events::add);
        TrainingEvent resumed = events.stream().filter(TrainingEvent::hasJobResumed).findFirst()
            .orElseThrow(() -> new AssertionError("no job_resumed event"));
        // The latest checkpoint: the first one, or a later one written before the kill landed.
        assertTrue(resumed.getJobResumed().getFromStep() >= checkpointStep, resumed.toString());
        for (int i = 0; i < events.size(); i++) {
          assertEquals(i + 1, events.get(i).getSequence(), "the history is kept, without gaps");
        }
        TrainingEvent last = events.get(events.size() - 1);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, last.getJobFinished().getState(),
            last.toString());
        JobStatus status = stub.getJob(GetJobRequest.newBuilder().setJobId(jobId).build());
        assertEquals(spec.getStop().getMaxSteps(), status.getStepsDone());
        assertEquals(8, status.getEvaluationsCount());
        status.getEvaluationsList().forEach(e -> assertEquals(1.0, e.getValue(), e.toString()));
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private static ChildJvm orchestrator(Path log, Path jobDir) throws Exception {
    return ChildJvm.start("tandem.orchestrator.TandemServerMain", log, "--host", "127.0.0.1",
        "--port", "0", "--workers", "2", "--job-dir", jobDir.toString());
  }

  private static int port(ChildJvm server) throws Exception {
    return Integer.parseInt(server.await("listening on 127\\.0\\.0\\.1:(\\d+)", START).group(1));
  }

  private static ManagedChannel channel(int port) {
    return NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
  }
}
