package tandem.orchestrator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import tandem.api.v1.Evaluation;
import tandem.api.v1.JobState;
import tandem.api.v1.JobStatus;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingServiceGrpc;

/** The arithmetic example trained end to end through a real server, to 100% on every output. */
class ArithmeticJobTest {

  @RegisterExtension
  static final RunningServer running = new RunningServer(2);


  @Test
  void trainsEveryTaskAndDecoderToFullAccuracy() {
    TrainingServiceGrpc.TrainingServiceBlockingStub stub = TrainingServiceGrpc.newBlockingStub(running.channel());
    String jobId = stub.submitJob(SubmitJobRequest.newBuilder()
        .setSpec(Specs.example("arithmetic")).build()).getJobId();
    List<TrainingEvent> events = new ArrayList<>();
    Iterator<TrainingEvent> stream = stub.withDeadlineAfter(5, TimeUnit.MINUTES)
        .streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId).build());
    stream.forEachRemaining(events::add);
    for (int i = 0; i < events.size(); i++) {
      assertEquals(i + 1, events.get(i).getSequence());
    }
    TrainingEvent last = events.get(events.size() - 1);
    assertEquals(JobState.JOB_STATE_SUCCEEDED, last.getJobFinished().getState(),
        last.getJobFinished().getMessage());
    JobStatus status = stub.getJob(tandem.api.v1.GetJobRequest.newBuilder().setJobId(jobId).build());
    assertEquals(8, status.getEvaluationsCount());
    for (Evaluation evaluation : status.getEvaluationsList()) {
      assertEquals(1.0, evaluation.getValue(), evaluation.getTask() + "/" + evaluation.getOutput());
    }
    System.out.println(status);

    JobStatus polled = stub.getJob(tandem.api.v1.GetJobRequest.newBuilder().setJobId(jobId)
        .setOmitLossCurves(true).build());
    assertTrue(status.getTasksList().stream().allMatch(t -> t.getLossCurveCount() > 0));
    assertTrue(polled.getTasksList().stream().allMatch(t -> t.getLossCurveCount() == 0),
        "omit_loss_curves leaves them out");
    assertEquals(status.toBuilder().clearTasks().build(), polled.toBuilder().clearTasks()
        .setElapsed(status.getElapsed()).build(), "and nothing else");
    JobStatus listed = stub.listJobs(tandem.api.v1.ListJobsRequest.newBuilder()
        .setOmitLossCurves(true).build()).getJobs(0);
    assertTrue(listed.getTasksList().stream().allMatch(t -> t.getLossCurveCount() == 0),
        "so does ListJobs'");
    assertEquals(polled.getTasksCount(), listed.getTasksCount());
    assertTrue(stub.listJobs(tandem.api.v1.ListJobsRequest.getDefaultInstance()).getJobs(0)
        .getTasksList().stream().allMatch(t -> t.getLossCurveCount() > 0), "curves by default");
    for (int i = 0; i < status.getTasksCount(); i++) {
      assertEquals(status.getTasks(i).toBuilder().clearLossCurve().build(), polled.getTasks(i));
    }
  }
}
