package tandem.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import tandem.api.v1.Evaluation;
import tandem.api.v1.JobState;
import tandem.api.v1.JobStatus;

/** The demo's verdict; the run itself needs a real server and is exercised by `tandem demo`. */
class DemoCommandTest {

  @Test
  void passesOnlyWhenSucceededAndEveryAccuracyIsOne() {
    JobStatus perfect = succeeded(accuracy("binary_plus1", "binary", 1.0), accuracy("binary_plus1", "decimal", 1.0));
    assertEquals(List.of(), DemoCommand.problems(perfect));
  }

  @Test
  void namesEachOutputBelowOneHundredPercent() {
    JobStatus status = succeeded(accuracy("binary_plus1", "binary", 1.0), accuracy("decimal_times2", "decimal", 0.9));
    assertEquals(List.of("decimal_times2/decimal accuracy 90.00% < 100%"), DemoCommand.problems(status));
  }

  @Test
  void failsWithoutAccuracyOrWhenTheJobFailed() {
    assertEquals(List.of("the job reported no accuracy"), DemoCommand.problems(succeeded()));
    JobStatus failed = JobStatus.newBuilder().setState(JobState.JOB_STATE_FAILED).setError("NaN loss").build();
    assertEquals(List.of("job ended FAILED: NaN loss"), DemoCommand.problems(failed));
  }

  private static JobStatus succeeded(Evaluation... evaluations) {
    return JobStatus.newBuilder().setState(JobState.JOB_STATE_SUCCEEDED).addAllEvaluations(List.of(evaluations)).build();
  }

  private static Evaluation accuracy(String task, String output, double value) {
    return Evaluation.newBuilder().setTask(task).setOutput(output).setMetric("accuracy").setValue(value).setExamples(10).build();
  }
}
