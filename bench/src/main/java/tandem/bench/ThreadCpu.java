package tandem.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * CPU time per group of a process's threads, from Linux's {@code /proc/<pid>/task/<tid>/stat}:
 * thread names as Linux keeps them (15 characters) with digits dropped, so that {@code
 * grpc-default-wo} or {@code tandem-event-st} add up their threads. A {@link Snapshot} keeps each
 * thread's figure, so that the CPU between two snapshots is summed thread by thread: a thread
 * that ended in between drops out of both (comparing group sums instead counted the whole past
 * CPU of a retired pool thread as negative: -0.6 s and +1.2 s for gRPC's executor in single soak
 * rounds); its CPU within the window is missed. Resolution: a clock tick (10 ms).
 */
public final class ThreadCpu {

  /** USER_HZ: 100 on every Linux this runs on. */
  private static final long CLOCK_TICKS = 100;

  private ThreadCpu() {}

  /** Each live thread's group and CPU time so far (user and system), by thread id. */
  public record Snapshot(Map<Long, Named> threads) {

    /** CPU time so far per group of the threads alive now. */
    public Map<String, Duration> byGroup() {
      Map<String, Duration> groups = new TreeMap<>();
      threads.values().forEach(t -> groups.merge(t.group(), t.cpu(), Duration::plus));
      return groups;
    }

    /**
     * CPU time since {@code before} per group, thread by thread: a thread new since then counts
     * from zero, a thread that ended since then not at all.
     */
    public Map<String, Duration> since(Snapshot before) {
      Map<String, Duration> groups = new TreeMap<>();
      threads.forEach((tid, now) -> {
        Named then = before.threads.get(tid);
        Duration cpu = then == null || !then.group().equals(now.group()) ? now.cpu()
            : now.cpu().minus(then.cpu());
        groups.merge(now.group(), cpu, Duration::plus);
      });
      return groups;
    }
  }

  /** A thread's group and its CPU time so far. */
  public record Named(String group, Duration cpu) {}

  /** The threads of process {@code pid} now. */
  public static Snapshot snapshot(long pid) throws IOException {
    Map<Long, Named> threads = new HashMap<>();
    Path tasks = Path.of("/proc", Long.toString(pid), "task");
    try (var list = Files.list(tasks)) {
      for (Path thread : list.toList()) {
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
        threads.put(Long.parseLong(thread.getFileName().toString()),
            new Named(name, Duration.ofMillis(ticks * 1000 / CLOCK_TICKS)));
      }
    }
    return new Snapshot(threads);
  }

  /** The same for this JVM. */
  public static Snapshot snapshot() throws IOException {
    return snapshot(ProcessHandle.current().pid());
  }

  /** The group of a thread named {@code name} as Linux keeps it: its digits dropped. */
  private static String group(String name) {
    return name.replaceAll("\\d+", "N");
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
