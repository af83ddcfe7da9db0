package tandem.orchestrator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import tandem.api.v1.CancelJobRequest;
import tandem.api.v1.JobStatus;
import tandem.api.v1.ScheduleSpec;
import tandem.api.v1.StopCondition;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.SubmitJobRequest;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingServiceGrpc;
import tandem.api.v1.UpdateScheduleRequest;

/** Changing a running job's schedule through the real server. */
class UpdateScheduleTest {

  @RegisterExtension
  static final RunningServer running = new RunningServer(2);


  @Test
  void aWeightedScheduleTakesOverFromTheNextStepAndIsLogged() {
    // A job that cannot end by itself during the test, cancelled once the new schedule has run
    // 40 steps: nothing here depends on how fast it trains.
    String jobId = stub().submitJob(SubmitJobRequest.newBuilder().setSpec(Specs.example("arithmetic")
        .toBuilder().setStop(StopCondition.newBuilder().setMaxSteps(1_000_000))).build())
        .getJobId();
    Iterator<TrainingEvent> events =
        stub().streamEvents(StreamEventsRequest.newBuilder().setJobId(jobId).build());
    List<TrainingEvent> seen = new ArrayList<>();
    while (seen.stream().filter(TrainingEvent::hasStepCompleted).count() < 20) {
      seen.add(events.next());
    }
    ScheduleSpec onlyOne = ScheduleSpec.newBuilder().setPolicy("weighted")
        .putWeights("decimal_times2", 1.0).build();
    JobStatus status = stub().updateSchedule(UpdateScheduleRequest.newBuilder().setJobId(jobId)
        .setSchedule(onlyOne).build());
    assertEquals(onlyOne, status.getSchedule());
    long afterStep = -1;
    int stepsAfter = 0;
    while (stepsAfter < 40) {
      TrainingEvent event = events.next();
      seen.add(event);
      if (event.hasScheduleUpdated()) {
        afterStep = event.getScheduleUpdated().getAfterStep();
      } else if (afterStep >= 0 && event.hasStepCompleted()
          && event.getStepCompleted().getStep() > afterStep) {
        stepsAfter++;
      }
    }
    stub().cancelJob(CancelJobRequest.newBuilder().setJobId(jobId).build());
    events.forEachRemaining(seen::add);

    assertEquals(1, seen.stream().filter(TrainingEvent::hasScheduleUpdated).count());
    assertTrue(afterStep >= 20, "after step " + afterStep);
    long changedAt = afterStep;
    List<String> before = new ArrayList<>();
    seen.stream().filter(TrainingEvent::hasStepCompleted).map(TrainingEvent::getStepCompleted)
        .forEach(step -> {
          if (step.getStep() > changedAt) {
            assertEquals("decimal_times2", step.getTask(), "step " + step.getStep());
          } else {
            before.add(step.getTask());
          }
        });
    assertEquals(4, before.stream().distinct().count(), "round robin before the change");
  }

  @Test
  void badSchedulesAndEndedJobsAreRefused() {
    String jobId = stub().submitJob(SubmitJobRequest.newBuilder().setSpec(Specs.example("arithmetic")
        .toBuilder().setStop(StopCondition.newBuilder().setMaxSteps(1_000_000))).build())
        .getJobId();
    StatusRuntimeException unknownTask = assertThrows(StatusRuntimeException.class,
        () -> stub().updateSchedule(UpdateScheduleRequest.newBuilder().setJobId(jobId)
            .setSchedule(ScheduleSpec.newBuilder().setPolicy("weighted")
                .putWeights("hexadecimal", 1.0)).build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, unknownTask.getStatus().getCode());
    assertTrue(unknownTask.getStatus().getDescription().startsWith("schedule.weights: unknown task"),
        unknownTask.getStatus().getDescription());

    stub().cancelJob(CancelJobRequest.newBuilder().setJobId(jobId).build());
    StatusRuntimeException ended = assertThrows(StatusRuntimeException.class,
        () -> stub().updateSchedule(UpdateScheduleRequest.newBuilder().setJobId(jobId)
            .setSchedule(ScheduleSpec.newBuilder().setPolicy("random")).build()));
    assertEquals(Status.Code.FAILED_PRECONDITION, ended.getStatus().getCode());

    StatusRuntimeException unknownJob = assertThrows(StatusRuntimeException.class,
        () -> stub().updateSchedule(UpdateScheduleRequest.newBuilder().setJobId("job-7777")
            .setSchedule(ScheduleSpec.newBuilder().setPolicy("random")).build()));
    assertEquals(Status.Code.NOT_FOUND, unknownJob.getStatus().getCode());
  }

  private static TrainingServiceGrpc.TrainingServiceBlockingStub stub() {
    return running.blocking(2);
  }
}
