package tandem.orchestrator.metrics;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Duration;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobStarted;
import tandem.api.v1.TaskPlacement;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.StepCompleted;
import tandem.api.v1.TaskSpec;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.WorkerLost;
import tandem.orchestrator.job.EventLog;
import tandem.orchestrator.job.JobRecord;
import tandem.orchestrator.job.JobStore;

class TrainingMetricsTest {

  private final JobStore store = new JobStore();
  private final EventLog log = new EventLog("job-1", "metrics", 1000, Instant.now());

  TrainingMetricsTest() {
    JobSpec.Builder spec = JobSpec.newBuilder().setName("metrics");
    for (String task : new String[] {"a", "b", "c", "d"}) {
      spec.addTasks(TaskSpec.newBuilder().setName(task));
    }
    store.add(new JobRecord("job-1", spec.build(), log));
  }

  @Test
  void tasksBeyondTheLabelLimitAreSummedAsOther() {
    TrainingMetrics metrics = new TrainingMetrics(store, 2);
    step(1, "a", 4, 0.002);
    step(2, "b", 4, 0.002);
    step(3, "c", 8, 0.004);
    step(4, "d", 8, 0.004);
    step(5, "a", 4, 0.002);
    String text = scrape(metrics);
    assertTrue(text.contains("tandem_steps_total{job=\"job-1\",task=\"a\"} 2.0"), text);
    assertTrue(text.contains("tandem_steps_total{job=\"job-1\",task=\"b\"} 1.0"));
    assertTrue(text.contains("tandem_steps_total{job=\"job-1\",task=\"_other\"} 2.0"));
    assertTrue(text.contains("tandem_examples_total{job=\"job-1\",task=\"_other\"} 16.0"));
    assertFalse(text.contains("task=\"c\""), "no series of its own past the limit");
    assertTrue(text.contains("tandem_step_compute_seconds_count{job=\"job-1\"} 5"));
    assertTrue(text.contains("tandem_step_compute_seconds_bucket{job=\"job-1\",le=\"0.002\"} 3"),
        text);
  }

  @Test
  void eachScrapeCountsOnlyTheEventsSinceThePreviousOne() {
    TrainingMetrics metrics = new TrainingMetrics(store, 10);
    log.append(TrainingEvent.newBuilder().setJobStarted(JobStarted.newBuilder()
        .addPlacements(TaskPlacement.newBuilder().setTask("a").setWorker("worker-0"))
        .addPlacements(TaskPlacement.newBuilder().setTask("b").setWorker("10.0.0.2:25520/worker-1"))));
    step(1, "a", 4, 0.001);
    scrape(metrics);
    step(2, "a", 4, 0.001);
    log.append(TrainingEvent.newBuilder().setWorkerLost(WorkerLost.newBuilder()
        .setWorker("10.0.0.2:25520/worker-1").addStepsInFlight(3).addStepsInFlight(4)));
    String text = scrape(metrics);
    assertTrue(text.contains("tandem_steps_total{job=\"job-1\",task=\"a\"} 2.0"), text);
    assertTrue(text.contains("tandem_failed_steps_total{job=\"job-1\"} 2.0"));
    assertTrue(text.contains("tandem_workers{node=\"local\",state=\"training\"} 1"), text);
    assertTrue(text.contains("tandem_workers{node=\"10.0.0.2:25520\",state=\"lost\"} 1"), text);
    // Ready workers the job does not use are idle; the lost one stays lost while not ready.
    store.readyWorkers(List.of("worker-0", "worker-1"));
    String withIdle = scrape(metrics);
    assertTrue(withIdle.contains("tandem_workers{node=\"local\",state=\"training\"} 1"),
        withIdle);
    assertTrue(withIdle.contains("tandem_workers{node=\"local\",state=\"idle\"} 1"), withIdle);
    assertTrue(withIdle.contains("tandem_workers{node=\"10.0.0.2:25520\",state=\"lost\"} 1"),
        withIdle);
    log.append(TrainingEvent.newBuilder().setJobFinished(JobFinished.newBuilder()
        .setState(JobState.JOB_STATE_SUCCEEDED)));
    // The lost worker's node brought it back.
    store.readyWorkers(List.of("worker-0", "worker-1", "10.0.0.2:25520/worker-1"));
    String after = scrape(metrics);
    assertTrue(after.contains("tandem_jobs{state=\"succeeded\"} 1"));
    assertFalse(after.contains("state=\"training\""), "a finished job holds no workers");
    assertFalse(after.contains("state=\"lost\""), "a worker ready again is not lost");
    assertTrue(after.contains("tandem_workers{node=\"local\",state=\"idle\"} 2"), after);
    assertTrue(after.contains("tandem_workers{node=\"10.0.0.2:25520\",state=\"idle\"} 1"),
        after);
  }

  @Test
  void predictLatencyIsAHistogramPerModel() {
    TrainingMetrics metrics = new TrainingMetrics(store, 10);
    metrics.observePredict("digits", java.time.Duration.ofMillis(3));
    metrics.observePredict("digits", java.time.Duration.ofMillis(300));
    String text = scrape(metrics);
    assertTrue(text.contains("tandem_predict_seconds_count{model=\"digits\"} 2"), text);
    assertTrue(text.contains("tandem_predict_seconds_sum{model=\"digits\"} 0.303"), text);
  }

  private void step(long step, String task, int examples, double computeSeconds) {
    log.append(TrainingEvent.newBuilder().setStepCompleted(StepCompleted.newBuilder()
        .setStep(step).setTask(task).setExamples(examples).setLoss(1.0)
        .setComputeTime(Duration.newBuilder().setNanos((int) (computeSeconds * 1e9)))));
  }

  private static String scrape(TrainingMetrics metrics) {
    return new String(metrics.scrape(), StandardCharsets.UTF_8);
  }
}
