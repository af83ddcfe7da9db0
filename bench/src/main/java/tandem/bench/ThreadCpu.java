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
        String name = group(stat.substring(open + 1, close));
        String[] fields = stat.substring(close + 2).split(" ");
        // After the name: state(0) ... utime(11) stime(12), in clock ticks.
        long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        groups.merge(name, Duration.ofMillis(ticks * 1000 / CLOCK_TICKS), Duration::plus);
      }
    }
    return groups;
  }

  /** The group of a thread named {@code name} as Linux keeps it: its digits dropped. */
  private static String group(String name) {
    return name.replaceAll("\\d+", "N");
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

  /** Context switches of a thread group: voluntary (it blocked) and involuntary (preempted). */
  public record Switches(long voluntary, long involuntary) {
    Switches plus(Switches other) {
      return new Switches(voluntary + other.voluntary, involuntary + other.involuntary);
    }

    Switches minus(Switches other) {
      return new Switches(voluntary - other.voluntary, involuntary - other.involuntary);
    }

    /** Both kinds together. */
    public long total() {
      return voluntary + involuntary;
    }
  }

  /**
   * Context switches so far per thread group of this JVM, from {@code
   * /proc/self/task/<tid>/status}: each voluntary one (the thread parked, waited or slept) is a
   * later wake-up, which on a machine whose cores all compute takes a core from a thread that
   * computes, and each involuntary one is such a thread preempted.
   */
  public static Map<String, Switches> switchesByGroup() throws IOException {
    Map<String, Switches> groups = new TreeMap<>();
    try (var threads = Files.list(Path.of("/proc/self/task"))) {
      for (Path thread : threads.toList()) {
        String name;
        long voluntary = 0;
        long involuntary = 0;
        try {
          name = group(Files.readString(thread.resolve("comm")).strip());
          for (String line : Files.readAllLines(thread.resolve("status"))) {
            if (line.startsWith("voluntary_ctxt_switches:")) {
              voluntary = Long.parseLong(line.substring(line.indexOf(':') + 1).strip());
            } else if (line.startsWith("nonvoluntary_ctxt_switches:")) {
              involuntary = Long.parseLong(line.substring(line.indexOf(':') + 1).strip());
            }
          }
        } catch (IOException e) {
          continue; // the thread ended meanwhile
        }
        groups.merge(name, new Switches(voluntary, involuntary), Switches::plus);
      }
    }
    return groups;
  }

  /** {@code after - before} per group of {@link #switchesByGroup}. */
  public static Map<String, Switches> minusSwitches(Map<String, Switches> after,
      Map<String, Switches> before) {
    Map<String, Switches> delta = new TreeMap<>();
    after.forEach((group, n) -> delta.put(group, n.minus(before.getOrDefault(group,
        new Switches(0, 0)))));
    return delta;
  }
}
