package tandem.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;

/**
 * CPU time per group of a process's threads, from Linux's {@code /proc/<pid>/task/<tid>/stat}:
 * thread names as Linux keeps them (15 characters) with digits dropped, so that {@code
 * grpc-default-wo} or {@code tandem-event-st} add up their threads. Threads that ended are
 * missing: compare groups of long-lived threads. Resolution: a clock tick (10 ms).
 */
public final class ThreadCpu {

  /** USER_HZ: 100 on every Linux this runs on. */
  private static final long CLOCK_TICKS = 100;

  private ThreadCpu() {}

  /** CPU time so far, user and system, per thread group of process {@code pid}. */
  public static Map<String, Duration> byGroup(long pid) throws IOException {
    Map<String, Duration> groups = new TreeMap<>();
    Path tasks = Path.of("/proc", Long.toString(pid), "task");
    try (var threads = Files.list(tasks)) {
      for (Path thread : threads.toList()) {
        String stat;
        try {
          stat = Files.readString(thread.resolve("stat"));
        } catch (IOException e) {
          continue; // the thread ended meanwhile
        }
        int open = stat.indexOf('(');
        int close = stat.lastIndexOf(')');
        String name = stat.substring(open + 1, close).replaceAll("\\d+", "N");
        String[] fields = stat.substring(close + 2).split(" ");
        // After the name: state(0) ... utime(11) stime(12), in clock ticks.
        long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        groups.merge(name, Duration.ofMillis(ticks * 1000 / CLOCK_TICKS), Duration::plus);
      }
    }
    return groups;
  }

  /** The same for this JVM. */
  public static Map<String, Duration> byGroup() throws IOException {
    return byGroup(ProcessHandle.current().pid());
  }

  /** {@code after - before} per group (groups only in {@code after} count from zero). */
  public static Map<String, Duration> minus(Map<String, Duration> after,
      Map<String, Duration> before) {
    Map<String, Duration> delta = new TreeMap<>();
    after.forEach((group, cpu) -> delta.put(group, cpu.minus(before.getOrDefault(group,
        Duration.ZERO))));
    return delta;
  }
}
