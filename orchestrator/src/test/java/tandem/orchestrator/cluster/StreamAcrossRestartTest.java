package tandem.orchestrator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
 * A subscriber follows a job past its checkpoint; the server is killed with SIGKILL and a new
 * one resumes the job from the checkpoint, reusing the sequence numbers after it for other
 * events. The subscriber resumes with its last seen number and incarnation and is told first
 * that the log was rewound to the checkpoint, then gets consecutive events to job_finished.
 */
class StreamAcrossRestartTest {

  private static final Duration START = Duration.ofSeconds(60);
  /** Events read past the checkpoint before the kill; far fewer than the steps to the next. */
  private static final int EVENTS_PAST_CHECKPOINT = 40;

  @Test
  void aSubscriberResumingAfterAKillIsToldOfTheRewindFirst(@TempDir Path dir) throws Exception {
    // One checkpoint, half-way: live events reach a subscriber a linger (100 ms) after they are
    // appended, when this job trains thousands of steps a second, so with a checkpoint every
    // 500 of 2,000 steps the server had sometimes written the next one before the kill, and
    // resumed past the subscriber with nothing to rewind.
    JobSpec base = Specs.example("arithmetic");
    JobSpec spec = base.toBuilder()
        .setStop(base.getStop().toBuilder().setMaxSteps(20_000))
        .setCheckpoint(CheckpointSpec.newBuilder().setEverySteps(10_000)).build();
    Path jobDir = dir.resolve("jobs");
    String jobId;
    TrainingEvent lastSeen;
    try (ChildJvm first = orchestrator(dir.resolve("first.log"), jobDir)) {
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
        for (int i = 0; i < EVENTS_PAST_CHECKPOINT || !event.hasStepCompleted(); i++) {
          event = stream.next();
        }
        lastSeen = event;
        first.kill();
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
    try (ChildJvm second = orchestrator(dir.resolve("second.log"), jobDir)) {
      ManagedChannel channel = channel(port(second));
      try {
        List<TrainingEvent> events = new ArrayList<>();
        TrainingServiceGrpc.newBlockingStub(channel).withDeadlineAfter(2, TimeUnit.MINUTES)
            .streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId)
                .setAfterSequence(lastSeen.getSequence())
                .setIncarnation(lastSeen.getIncarnation()).build())
            .forEachRemaining(events::add);

        TrainingEvent rewound = events.get(0);
        assertTrue(rewound.hasLogRewound(), "first event: " + rewound);
        long rewoundTo = rewound.getLogRewound().getRewoundTo();
        assertEquals(rewoundTo, rewound.getSequence());
        assertEquals(lastSeen.getSequence(), rewound.getLogRewound().getAfterSequence());
        assertTrue(rewoundTo < lastSeen.getSequence(), rewound.toString());
        assertNotEquals(lastSeen.getIncarnation(), rewound.getIncarnation());

        TrainingEvent resumed = events.get(1);
        assertTrue(resumed.hasJobResumed(), "after the rewind, the job's resume: " + resumed);
        assertEquals(rewoundTo, resumed.getJobResumed().getFromSequence());
        assertEquals(rewound.getIncarnation(), resumed.getIncarnation());
        for (int i = 1; i < events.size(); i++) {
          assertEquals(rewoundTo + i, events.get(i).getSequence(), "consecutive from the rewind");
        }
        TrainingEvent last = events.get(events.size() - 1);
        assertEquals(JobState.JOB_STATE_SUCCEEDED, last.getJobFinished().getState(),
            last.toString());
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
