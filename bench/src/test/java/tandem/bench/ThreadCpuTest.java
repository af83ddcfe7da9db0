package tandem.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ThreadCpuTest {

  private static ThreadCpu.Named named(String group, long millis) {
    return new ThreadCpu.Named(group, Duration.ofMillis(millis));
  }

  @Test
  void cpuSinceASnapshotIsSummedThreadByThreadSoThatARetiredThreadDoesNotCountAsNegative() {
    ThreadCpu.Snapshot before = new ThreadCpu.Snapshot(Map.of(
        1L, named("grpc-default-executor-N", 1_200), // retires before the next snapshot
        2L, named("grpc-default-executor-N", 100),
        3L, named("tandem-event-stream", 50)));
    ThreadCpu.Snapshot after = new ThreadCpu.Snapshot(Map.of(
        2L, named("grpc-default-executor-N", 130),
        3L, named("tandem-event-stream", 90),
        4L, named("grpc-default-executor-N", 20))); // new: counts from zero
    Map<String, Duration> since = after.since(before);
    assertEquals(Duration.ofMillis(30 + 20), since.get("grpc-default-executor-N"));
    assertEquals(Duration.ofMillis(40), since.get("tandem-event-stream"));
    assertEquals(Duration.ofMillis(150), after.byGroup().get("grpc-default-executor-N"));
  }

  @Test
  void aThreadIdReusedByAThreadOfAnotherGroupCountsFromZero() {
    ThreadCpu.Snapshot before = new ThreadCpu.Snapshot(Map.of(7L, named("old", 500)));
    ThreadCpu.Snapshot after = new ThreadCpu.Snapshot(Map.of(7L, named("new", 10)));
    assertEquals(Duration.ofMillis(10), after.since(before).get("new"));
  }

  @Test
  void thisJvmsThreadsAreReadFromProc() throws Exception {
    ThreadCpu.Snapshot now = ThreadCpu.snapshot();
    assertTrue(now.threads().size() > 1, now.toString());
    assertTrue(now.byGroup().values().stream().noneMatch(Duration::isNegative), now.toString());
  }
}
