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
import tandem.api.v1.CancelJobRequest;
import tandem.api.v1.CheckpointSpec;
import tandem.api.v1.GetJobRequest;
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
 * that the log was rewound to the checkpoint, then gets consecutive events, up to the job's end
 * (the test cancels it).
 */
class StreamAcrossRestartTest {

  private static final Duration START = Duration.ofSeconds(60);
  /** Events read past the checkpoint before the kill. */
  private static final int EVENTS_PAST_CHECKPOINT = 40;
  /** Events read after the resume before the job is cancelled. */
  private static final int EVENTS_AFTER_RESUME = 200;
  /**
   * Checkpoints by time only, this far apart: the subscriber, which joins the live log once the
   * first one is written, reads its events and has the server killed long before the next. With
   * checkpoints by steps, a fast machine wrote the next one before the kill (thousands of steps
   * in a subscriber's 100 ms linger), and the server resumed past the subscriber with nothing to
   * rewind.
   */
  private static final int CHECKPOINT_SECONDS = 3;

  @Test
  void aSubscriberResumingAfterAKillIsToldOfTheRewindFirst(@TempDir Path dir) throws Exception {
    JobSpec base = Specs.example("arithmetic");
    JobSpec spec = base.toBuilder()
        .setStop(base.getStop().toBuilder().setMaxSteps(1_000_000_000))
        .setCheckpoint(CheckpointSpec.newBuilder().setEverySteps(Long.MAX_VALUE)
            .setEvery(com.google.protobuf.Duration.newBuilder().setSeconds(CHECKPOINT_SECONDS)))
        .build();
    Path jobDir = dir.resolve("jobs");
    String jobId;
    TrainingEvent lastSeen;
    try (ChildJvm first = orchestrator(dir.resolve("first.log"), jobDir)) {
      ManagedChannel channel = channel(port(first));
      try {
        var stub = TrainingServiceGrpc.newBlockingStub(channel);
        jobId = stub.submitJob(SubmitJobRequest.newBuilder().setSpec(spec).build()).getJobId();
        first.await("job " + jobId + ": checkpoint at step", START);
        // From the live end of the log: a subscriber reading from its start falls behind a job
        // this fast.
        long live = stub.getJob(GetJobRequest.newBuilder().setJobId(jobId)
            .setOmitLossCurves(true).build()).getLastSequence();
        Iterator<TrainingEvent> stream = stub.withDeadlineAfter(2, TimeUnit.MINUTES)
            .streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId)
                .setAfterSequence(live).build());
        TrainingEvent event = stream.next();
        for (int i = 1; i < EVENTS_PAST_CHECKPOINT || !event.hasStepCompleted(); i++) {
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
        var stub = TrainingServiceGrpc.newBlockingStub(channel);
        List<TrainingEvent> events = new ArrayList<>();
        Iterator<TrainingEvent> stream = stub.withDeadlineAfter(2, TimeUnit.MINUTES)
            .streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId)
                .setAfterSequence(lastSeen.getSequence())
                .setIncarnation(lastSeen.getIncarnation()).build());
        while (events.size() < EVENTS_AFTER_RESUME && stream.hasNext()) {
          events.add(stream.next());
        }
        stub.cancelJob(CancelJobRequest.newBuilder().setJobId(jobId).build());
        stream.forEachRemaining(events::add);

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
        assertTrue(events.size() > EVENTS_AFTER_RESUME, events.size() + " events");
        TrainingEvent last = events.get(events.size() - 1);
        assertEquals(JobState.JOB_STATE_CANCELLED, last.getJobFinished().getState(),
            last.toString());
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * The server keeps every event in its live log (200,000 by default): the restarted one resumes
   * the job before it listens, and a subscriber that connects seconds later on a loaded machine
   * would otherwise find job_resumed already dropped (tens of thousands of steps a second), told
   * of it as missed.
   */
  private static ChildJvm orchestrator(Path log, Path jobDir) throws Exception {
    return ChildJvm.start(List.of("-Dtandem.orchestrator.retained-events=10000000"),
        "tandem.orchestrator.TandemServerMain", log, "--host", "127.0.0.1",
        "--port", "0", "--workers", "2", "--job-dir", jobDir.toString());
  }

  private static int port(ChildJvm server) throws Exception {
    return Integer.parseInt(server.await("listening on 127\\.0\\.0\\.1:(\\d+)", START).group(1));
  }

  private static ManagedChannel channel(int port) {
    return NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
  }
}
