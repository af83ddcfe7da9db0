package tandem.orchestrator.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import tandem.api.v1.CheckpointSpec;
import tandem.api.v1.ConsistencySpec;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.StopCondition;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingServiceGrpc;
import tandem.orchestrator.Specs;
import tandem.orchestrator.TandemServer;
import tandem.orchestrator.TestServers;

/**
 * A job whose server stops after a checkpoint is resumed by the next server on the same job
 * directory and ends with exactly the parameters of a run that never stopped (sync mode is
 * deterministic, so any state the checkpoint missed would show); the same for an async job with
 * staleness bound 0 on two workers (deterministic too), whose workers update the shared modules
 * in place.
 */
class ResumeTest {

  /**
   * Long enough that the first server is stopped well before the job ends: closing it takes a
   * few dozen steps of this small job after the first checkpoint (30 to 60 on a 2-core VM).
   */
  private static final int STEPS = 3000;

  private static final JobSpec SPEC = Specs.example("arithmetic").toBuilder()
      .setStop(StopCondition.newBuilder().setMaxSteps(STEPS))
      .setCheckpoint(CheckpointSpec.newBuilder().setEverySteps(100))
      .build();

  @Test
  void aResumedJobEndsWithTheParametersOfAnUninterruptedRun(@TempDir Path dirs) throws Exception {
    resumedEqualsUninterrupted(SPEC, dirs);
  }

  @Test
  void aResumedAsyncJobUpdatingInPlaceEndsWithTheParametersOfAnUninterruptedRun(
      @TempDir Path dirs) throws Exception {
    resumedEqualsUninterrupted(SPEC.toBuilder().setConsistency(ConsistencySpec.newBuilder()
        .setMode("async").setMaxStaleness(0).setStepsInFlight(2)).build(), dirs);
  }

  /**
   * Checkpoints that keep only the newest 200 events still resume the job's whole status (steps,
   * per-task counts, loss curves), and a client reading from the start is told which events
   * the resumed log no longer has, then gets the rest without a gap.
   */
  @Test
  void aCheckpointKeepingFewEventsResumesTheWholeStatusAndSaysWhichEventsAreGone(
      @TempDir Path jobDir) throws Exception {
    com.typesafe.config.Config fewEvents = com.typesafe.config.ConfigFactory.parseMap(
        Map.of("tandem.orchestrator.checkpoint.events", 200));
    String jobId;
    try (TandemServer first = TestServers.start(2, jobDir, fewEvents)) {
      jobId = submit(first, SPEC);
      // Past 200 events (a step each), so that the checkpoint cannot keep them all.
      TestServers.awaitCheckpoint(first, jobId, 300);
    }
    Checkpoint latest = new JobDirectory(jobDir, jobId).readLatest().orElseThrow();
    assertTrue(latest.events().size() <= 200, latest.events().size() + " events kept");
    assertTrue(latest.eventSequence() > 200, "the job had more events than the checkpoint keeps");
    try (TandemServer second = TestServers.start(2, jobDir, fewEvents)) {
      List<TrainingEvent> events = follow(second, jobId);
      assertTrue(events.get(0).hasEventsMissed(), events.get(0).toString());
      assertEquals(1, events.get(0).getEventsMissed().getFirstMissed());
      for (int i = 1; i < events.size(); i++) {
        assertEquals(events.get(i - 1).getSequence() + 1, events.get(i).getSequence(),
            "no gap after the missed ones");
      }
      assertEquals(JobState.JOB_STATE_SUCCEEDED, last(events).getJobFinished().getState());
      var status = second.jobs().find(jobId).orElseThrow().events().status();
      assertEquals(STEPS, status.getStepsDone());
      assertEquals(STEPS, status.getTasksList().stream()
          .mapToLong(tandem.api.v1.TaskProgress::getSteps).sum(), "every task's steps, all runs");
      assertTrue(status.getTasksList().stream().allMatch(t -> t.getLossCurveCount() > 10),
          "the loss curves from the job's start");
    }
  }

  private static void resumedEqualsUninterrupted(JobSpec spec, Path dirs) throws Exception {
    Map<String, INDArray> uninterrupted;
    try (TandemServer server = TestServers.start(2, dirs.resolve("reference"))) {
      String jobId = submit(server, spec);
      List<TrainingEvent> events = follow(server, jobId);
      assertEquals(JobState.JOB_STATE_SUCCEEDED, last(events).getJobFinished().getState());
      // Every 100 steps unless the previous one is still being written, and at the end.
      List<TrainingEvent> checkpoints =
          events.stream().filter(TrainingEvent::hasCheckpointWritten).toList();
      assertTrue(checkpoints.size() >= 2, checkpoints.toString());
      assertEquals(STEPS, checkpoints.get(checkpoints.size() - 1).getCheckpointWritten().getStep());
      uninterrupted = server.jobs().find(jobId).orElseThrow().trainedParameters();
    }
    Path jobDir = dirs.resolve("interrupted");
    String jobId;
    try (TandemServer first = TestServers.start(2, jobDir)) {
      jobId = submit(first, spec);
      // Stops the server as soon as the first checkpoint is on disk, seen in the server's own
      // log: a gRPC follower hears of it a linger (100 ms) later, thousands of steps of this
      // job on a fast machine, and the job had sometimes ended by then.
      TestServers.awaitCheckpoint(first, jobId);
    }
    assertTrue(Files.exists(jobDir.resolve(jobId).resolve("LATEST")));
    assertTrue(!new JobDirectory(jobDir, jobId).finished(),
        "the first server ended the job before it stopped; nothing is left to resume");
    try (TandemServer second = TestServers.start(2, jobDir)) {
      List<TrainingEvent> events = follow(second, jobId);
      TrainingEvent resumed = events.stream().filter(TrainingEvent::hasJobResumed).findFirst()
          .orElseThrow();
      assertTrue(resumed.getJobResumed().getFromStep() >= 100, resumed.toString());
      for (int i = 0; i < events.size(); i++) {
        assertEquals(i + 1, events.get(i).getSequence(), "sequence numbers without gaps");
      }
      assertEquals(JobState.JOB_STATE_SUCCEEDED, last(events).getJobFinished().getState(),
          last(events).toString());
      assertEquals(STEPS, second.jobs().find(jobId).orElseThrow().events().status().getStepsDone());
      Map<String, INDArray> resumedParameters =
          second.jobs().find(jobId).orElseThrow().trainedParameters();
      assertEquals(uninterrupted.keySet(), resumedParameters.keySet());
      uninterrupted.forEach((module, expected) -> assertArrayEquals(
          expected.data().asFloat(), resumedParameters.get(module).data().asFloat(), 0f, module));
    }
  }

  private static String submit(TandemServer server, JobSpec spec) {
    ManagedChannel channel = TestServers.channel(server);
    try {
      return TrainingServiceGrpc.newBlockingStub(channel)
          .submitJob(SubmitJobRequest.newBuilder().setSpec(spec).build()).getJobId();
    } finally {
      channel.shutdownNow();
    }
  }

  /** The job's events until it ends. */
  private static List<TrainingEvent> follow(TandemServer server, String jobId)
      throws InterruptedException {
    ManagedChannel channel = TestServers.channel(server);
    List<TrainingEvent> events = new ArrayList<>();
    try {
      Iterator<TrainingEvent> stream = TrainingServiceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(2, TimeUnit.MINUTES)
          .streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId).build());
      stream.forEachRemaining(events::add);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    return events;
  }

  private static TrainingEvent last(List<TrainingEvent> events) {
    return events.get(events.size() - 1);
  }
}
