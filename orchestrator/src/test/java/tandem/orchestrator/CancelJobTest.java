package tandem.orchestrator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import tandem.api.v1.CancelJobRequest;
import tandem.api.v1.GetJobRequest;
import tandem.api.v1.JobState;
import tandem.api.v1.JobStatus;
import tandem.api.v1.ListJobsRequest;
import tandem.api.v1.StopCondition;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingServiceGrpc;

/** Cancelling, listing and looking up jobs through the real server. */
class CancelJobTest {

  @RegisterExtension
  static final RunningServer running = new RunningServer(2);


  @Test
  void cancelStopsARunningJobOnceAndOnlyOnce() {
    String jobId = stub().submitJob(SubmitJobRequest.newBuilder().setSpec(Specs.example("arithmetic")
        .toBuilder().setStop(StopCondition.newBuilder().setMaxSteps(10_000_000))).build())
        .getJobId();
    Iterator<TrainingEvent> events =
        stub().streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId).build());
    // Wait until training is under way: the first step is in the log.
    long steps = 0;
    while (!events.next().hasStepCompleted()) {
      assertTrue(events.hasNext());
    }
    steps++;
    stub().cancelJob(CancelJobRequest.newBuilder().setJobId(jobId).build());
    // The cancel is answered once the job has ended: no step is counted after it.
    long stepsAtCancel = stub().getJob(GetJobRequest.newBuilder().setJobId(jobId).build())
        .getStepsDone();
    TrainingEvent last = null;
    while (events.hasNext()) {
      last = events.next();
      if (last.hasStepCompleted()) {
        steps++;
      }
    }
    assertEquals(JobState.JOB_STATE_CANCELLED, last.getJobFinished().getState());
    JobStatus status = stub().getJob(GetJobRequest.newBuilder().setJobId(jobId).build());
    assertEquals(JobState.JOB_STATE_CANCELLED, status.getState());
    assertEquals(stepsAtCancel, status.getStepsDone(), "steps counted after the cancel");
    assertEquals(steps, last.getJobFinished().getSteps(), "steps in the log and in job_finished");
    assertEquals(steps, status.getStepsDone());

    StatusRuntimeException again = assertThrows(StatusRuntimeException.class,
        () -> stub().cancelJob(CancelJobRequest.newBuilder().setJobId(jobId).build()));
    assertEquals(Status.Code.FAILED_PRECONDITION, again.getStatus().getCode());
    assertEquals("job " + jobId + " is not running: it is cancelled",
        again.getStatus().getDescription());
    assertTrue(stub().listJobs(ListJobsRequest.getDefaultInstance()).getJobsList().stream()
        .anyMatch(job -> job.getJobId().equals(jobId)));
    assertEquals(stepsAtCancel, stub().getJob(GetJobRequest.newBuilder().setJobId(jobId).build())
        .getStepsDone(), "the job stays stopped");
  }

  @Test
  void unknownJobsAreNotFound() {
    for (Runnable call : new Runnable[] {
        () -> stub().getJob(GetJobRequest.newBuilder().setJobId("job-9999").build()),
        () -> stub().cancelJob(CancelJobRequest.newBuilder().setJobId("job-9999").build()),
        () -> stub().streamEvents(StreamEventsRequest.newBuilder().setJobId("job-9999").build())
            .hasNext()}) {
      StatusRuntimeException error = assertThrows(StatusRuntimeException.class, call::run);
      assertEquals(Status.Code.NOT_FOUND, error.getStatus().getCode());
      assertEquals("no job with id 'job-9999'", error.getStatus().getDescription());
    }
  }

  private static TrainingServiceGrpc.TrainingServiceBlockingStub stub() {
    return running.blocking(2);
  }
}
