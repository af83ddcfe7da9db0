package tandem.orchestrator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.StopCondition;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingServiceGrpc;
import tandem.orchestrator.job.JobManager;

/**
 * The job manager runs under a supervising guardian: an exception while it handles one request
 * fails that request only; the server keeps serving and training.
 */
class ServerGuardianTest {

  @RegisterExtension
  static final RunningServer running = new RunningServer(1);

  @Test
  void anExceptionInTheJobManagerFailsOneRequestAndTheServerTrainsOn() throws Exception {
    String before = submit(600);
    // A resume without a plan throws inside the job manager: a bug reached by one request.
    var poisoned = AskPattern.<JobManager.Command, JobManager.Outcome>ask(
        running.server().jobManager(),
        replyTo -> new JobManager.ResumeJob("job-0099", null, null, replyTo),
        Duration.ofSeconds(2), running.server().jobManagerScheduler()).toCompletableFuture();
    ExecutionException error = assertThrows(ExecutionException.class, poisoned::get);
    assertTrue(error.getCause() instanceof java.util.concurrent.TimeoutException,
        error.getCause().toString());
    assertEquals(HealthCheckResponse.ServingStatus.SERVING, HealthGrpc.newBlockingStub(
        running.channel()).check(HealthCheckRequest.getDefaultInstance()).getStatus());
    String after = submit(50);
    assertEquals(JobState.JOB_STATE_SUCCEEDED, last(after).getJobFinished().getState());
    assertEquals(JobState.JOB_STATE_SUCCEEDED, last(before).getJobFinished().getState());
  }

  @Test
  void aJobManagerRestartKeepsTheRunningJobAndFailsTheBrokenOneCleanly() throws Exception {
    String survivor = submit(3000);
    // A start without a plan throws inside the manager once the job is recorded: the manager
    // restarts, keeps the running job's coordinator, and fails the recorded one with the reason.
    var system = (org.apache.pekko.actor.typed.ActorSystem<?>) running.server().jobManager();
    running.server().jobManager().tell(new JobManager.StartJob(Specs.example("arithmetic"),
        null, system.ignoreRef()));
    // Submitted after it (the guardian forwards in order): the broken job is recorded by now.
    String after = submit(50);
    String broken = tandem.orchestrator.job.JobIds.of(
        tandem.orchestrator.job.JobIds.number(after) - 1);
    TrainingEvent end = last(broken);
    assertEquals(JobState.JOB_STATE_FAILED, end.getJobFinished().getState(), end.toString());
    assertTrue(end.getJobFinished().getMessage().contains("job manager restarted"),
        end.toString());
    assertEquals(JobState.JOB_STATE_SUCCEEDED, last(after).getJobFinished().getState());
    assertEquals(JobState.JOB_STATE_SUCCEEDED, last(survivor).getJobFinished().getState());
  }

  @Test
  void ajobThatCannotResumeAtStartIsMarkedFailedAndNotTriedAgain(@TempDir Path jobDir)
      throws Exception {
    // A spec that no longer compiles (an unknown loss), as a previous run left it.
    JobSpec broken = Specs.example("arithmetic").toBuilder()
        .setStop(StopCondition.newBuilder().setMaxSteps(50)).build().toBuilder()
        .setTasks(0, Specs.example("arithmetic").getTasks(0).toBuilder()
            .setOutputs(0, Specs.example("arithmetic").getTasks(0).getOutputs(0).toBuilder()
                .setLoss("no-such-loss"))).build();
    Path job = Files.createDirectories(jobDir.resolve("job-0007"));
    Files.write(job.resolve("spec.pb"), broken.toByteArray());
    // A directory that is not named like a job: never read.
    Path stray = Files.createDirectories(jobDir.resolve("..evil"));
    Files.write(stray.resolve("spec.pb"), broken.toByteArray());
    try (TandemServer server = TestServers.start(1, jobDir)) {
      assertTrue(Files.exists(job.resolve("finished")), "marked finished");
      assertTrue(Files.readString(job.resolve("finished")).contains("FAILED"));
      assertFalse(Files.exists(stray.resolve("finished")), "the stray directory untouched");
    }
  }

  private static String submit(long steps) {
    return running.blocking(1).submitJob(SubmitJobRequest.newBuilder().setSpec(
        Specs.example("arithmetic").toBuilder()
            .setStop(StopCondition.newBuilder().setMaxSteps(steps))).build()).getJobId();
  }

  private static TrainingEvent last(String jobId) {
    Iterator<TrainingEvent> events = TrainingServiceGrpc.newBlockingStub(running.channel())
        .withDeadlineAfter(2, TimeUnit.MINUTES)
        .streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId).build());
    TrainingEvent last = null;
    while (events.hasNext()) {
      last = events.next();
    }
    return last;
  }
}
