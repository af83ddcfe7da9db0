package tandem.orchestrator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.time.Instant;
import org.junit.jupiter.api.Test;
import tandem.api.v1.JobSpec;
import tandem.api.v1.StepCompleted;
import tandem.api.v1.TaskSpec;
import tandem.api.v1.TrainingEvent;
import tandem.orchestrator.job.EventLog;
import tandem.orchestrator.job.JobRecord;
import tandem.orchestrator.job.JobStore;

/**
 * The overview and the curves read on from where the last request stopped: each of a growing
 * log gives what a first read of the same log gives, and a resumed job (a new log) starts over.
 */
class OverviewTest {

  private static final JobSpec SPEC = JobSpec.newBuilder().setName("overview")
      .addTasks(TaskSpec.newBuilder().setName("a")).addTasks(TaskSpec.newBuilder().setName("b"))
      .build();

  @Test
  void aRefreshAfterMoreStepsEqualsAFirstReadOfTheWholeLog() {
    EventLog log = new EventLog("job-1", "overview", 10_000, Instant.now());
    JobRecord record = new JobRecord("job-1", SPEC, log);
    DashboardData refreshed = new DashboardData(new JobStore(10));
    int step = 0;
    for (int round = 0; round < 4; round++) {
      String before = refreshed.overview(record, 12);
      for (int i = 0; i < 50 + 37 * round; i++) {
        step++;
        step(log, step, step % 3 == 0 ? "b" : "a", 1.0 / step + (step % 17 == 0 ? 5 : 0));
      }
      String after = refreshed.overview(record, 12);
      assertNotEquals(before, after, "the refresh shows the new steps");
      assertEquals(new DashboardData(new JobStore(10)).overview(record, 12), after,
          "round " + round);
      // The curves a page asks for come from the same history, read on alike.
      assertEquals(new DashboardData(new JobStore(10)).series(record, null, 300, 0),
          refreshed.series(record, null, 300, 0), "curves, round " + round);
      assertEquals(new DashboardData(new JobStore(10)).series(record, java.util.List.of("b"), 5,
          7), refreshed.series(record, java.util.List.of("b"), 5, 7), "b's, round " + round);
    }

    EventLog resumed = new EventLog("job-1", "overview", 10_000, Instant.now());
    step(resumed, 1, "a", 2.0);
    JobRecord again = new JobRecord("job-1", SPEC, resumed);
    assertEquals(new DashboardData(new JobStore(10)).overview(again, 12),
        refreshed.overview(again, 12), "a new log is read from its start");
  }

  private static void step(EventLog log, long step, String task, double loss) {
    log.append(TrainingEvent.newBuilder().setStepCompleted(StepCompleted.newBuilder()
        .setStep(step).setTask(task).setLoss(loss).setExamples(4)));
  }
}
