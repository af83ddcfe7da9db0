package tandem.orchestrator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tandem.api.v1.CheckpointSpec;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingServiceGrpc;
import tandem.orchestrator.Specs;

/**
 * The orchestrator in a child JVM is killed with SIGKILL in the middle of a checkpoint write (a
 * test hook holds the write after its files are synced, before its rename); a new orchestrator
 * on the same job directory resumes the job from the previous checkpoint, with its event history
 * whole, and completes it.
 */
class CheckpointKillTest {

  private static final Duration START = Duration.ofSeconds(90);

  @Test
  void aServerKilledDuringACheckpointWriteResumesFromThePreviousOne(@TempDir Path dir)
      throws Exception {
    JobSpec spec = Specs.example("arithmetic").toBuilder()
        .setCheckpoint(CheckpointSpec.newBuilder().setEverySteps(300)).build();
    Path jobDir = dir.resolve("jobs");
    String jobId;
    long firstStep;
    try (ChildJvm first = ChildJvm.start(List.of("-Dtandem.test.checkpoint-pause-ms=5000"),
        "tandem.orchestrator.TandemServerMain", dir.resolve("first.log"), args(jobDir))) {
      ManagedChannel channel = channel(port(first));
      try {
        var stub = TrainingServiceGrpc.newBlockingStub(channel);
        jobId = stub.submitJob(SubmitJobRequest.newBuilder().setSpec(spec).build()).getJobId();
        Iterator<TrainingEvent> stream = stub.withDeadlineAfter(2, TimeUnit.MINUTES)
            .streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId).build());
        TrainingEvent event;
        do {
          event = stream.next();
        } while (!event.hasCheckpointWritten());
        firstStep = event.getCheckpointWritten().getStep();
        // The next write, held before its rename: kill the server there.
        first.await("checkpoint write paused .*" + jobId + ".*\\.writing-step-(?!"
            + String.format("%012d", firstStep) + ")\\d{12}", START);
        first.kill();
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
    Path job = jobDir.resolve(jobId);
    assertEquals(String.format("step-%012d", firstStep),
        Files.readString(job.resolve("LATEST"), StandardCharsets.UTF_8).trim());
    assertTrue(writingDirectories(job) > 0, "the killed write's directory is left over");
    try (ChildJvm second = ChildJvm.start("tandem.orchestrator.TandemServerMain",
        dir.resolve("second.log"), args(jobDir))) {
      ManagedChannel channel = channel(port(second));
      try {
        List<TrainingEvent> events = new ArrayList<>();
        TrainingServiceGrpc.newBlockingStub(channel).withDeadlineAfter(3, TimeUnit.MINUTES)
            .streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId).build())
            .forEachRemaining(events::add);
        TrainingEvent resumed = events.stream().filter(TrainingEvent::hasJobResumed).findFirst()
            .orElseThrow(() -> new AssertionError("no job_resumed event"));
        assertEquals(firstStep, resumed.getJobResumed().getFromStep(), resumed.toString());
        for (int i = 0; i < events.size(); i++) {
          assertEquals(i + 1, events.get(i).getSequence(), "no gap in sequence numbers");
        }
        TrainingEvent last = events.get(events.size() - 1);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, last.getJobFinished().getState(),
            last.toString());
        assertEquals(0, writingDirectories(job), "the left-over write is cleaned up");
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private static long writingDirectories(Path job) throws Exception {
    try (Stream<Path> entries = Files.list(job)) {
      return entries.filter(p -> p.getFileName().toString().startsWith(".writing-")).count();
    }
  }

  private static String[] args(Path jobDir) {
    return new String[] {"--host", "127.0.0.1", "--port", "0", "--workers", "2", "--job-dir",
        jobDir.toString()};
  }

  private static int port(ChildJvm server) throws Exception {
    return Integer.parseInt(server.await("listening on 127\\.0\\.0\\.1:(\\d+)", START).group(1));
  }

  private static ManagedChannel channel(int port) {
    return NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
  }
}
