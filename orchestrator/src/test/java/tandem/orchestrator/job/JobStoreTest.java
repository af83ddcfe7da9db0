package tandem.orchestrator.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import org.junit.jupiter.api.Test;
import tandem.api.v1.JobFinished;
import tandem.api.v1.JobSpec;
import tandem.api.v1.JobState;
import tandem.api.v1.TrainingEvent;

class JobStoreTest {

  @Test
  void theOldestFinishedJobsGoFirstAndUnfinishedOnesStay() {
    JobStore store = new JobStore(2);
    JobRecord running = record("job-0001", false);
    store.add(running);
    store.add(record("job-0002", true));
    store.add(record("job-0003", true));
    store.add(record("job-0004", false));
    assertTrue(store.find("job-0001").isPresent(), "unfinished: kept beyond the limit");
    assertTrue(store.find("job-0002").isEmpty() && store.find("job-0003").isEmpty());
    assertEquals(2, store.all().size());
  }

  private static JobRecord record(String jobId, boolean finished) {
    EventLog log = new EventLog(jobId, "tiny", 10, Instant.now());
    if (finished) {
      log.append(TrainingEvent.newBuilder().setJobFinished(JobFinished.newBuilder()
          .setState(JobState.JOB_STATE_SUCCEEDED)));
    }
    return new JobRecord(jobId, JobSpec.getDefaultInstance(), log);
  }
}
