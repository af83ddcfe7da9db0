package tandem.orchestrator.http;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tandem.api.v1.TrainingEvent;
import tandem.orchestrator.job.EventLog;

/**
 * A job's step events as the dashboard draws them: per task, the step number, time, loss and
 * staleness of every step still in the log's retained window, and the job's other events
 * (evaluations, checkpoints, schedule changes). Built by one pass over the {@link EventLog}, the
 * same log {@code StreamEvents} and the page's live stream read, so the picture it gives and the
 * live events that follow it meet at {@link #lastSequence()} without a gap or an overlap.
 * Not thread-safe: one reader at a time ({@link #readOn} extends it in place).
 */
final class JobHistory {

  /** One task's steps, in step order; arrays of {@link #size()} valid entries. */
  static final class TaskSeries {
    final String task;
    double[] steps = new double[16];
    double[] times = new double[16];
    double[] losses = new double[16];
    double[] staleness = new double[16];
    int size;
    long examples;

    TaskSeries(String task) {
      this.task = task;
    }

    void add(double step, double time, double loss, double stale) {
      if (size == steps.length) {
        int grown = size * 2;
        steps = Arrays.copyOf(steps, grown);
        times = Arrays.copyOf(times, grown);
        losses = Arrays.copyOf(losses, grown);
        staleness = Arrays.copyOf(staleness, grown);
      }
      steps[size] = step;
      times[size] = time;
      losses[size] = loss;
      staleness[size] = stale;
      size++;
    }

    int size() {
      return size;
    }
  }

  private static final int EVENTS_PER_READ = 4096;

  private final Map<String, TaskSeries> tasks;
  private final List<TrainingEvent> others;
  private final ArrayDeque<TrainingEvent> latest;
  private final int recent;
  private long lastSequence;
  private long missed;

  private JobHistory(List<String> taskOrder, int recent) {
    this.tasks = new LinkedHashMap<>();
    taskOrder.forEach(task -> tasks.put(task, new TaskSeries(task)));
    this.others = new ArrayList<>();
    this.latest = new ArrayDeque<>(recent + 1);
    this.recent = recent;
  }

  /**
   * A history of nothing yet, to {@link #readOn} a log from its start.
   *
   * @param taskOrder the job's tasks, in spec order (tasks without steps get empty series)
   * @param recent how many of the latest step events to keep whole (the worker timeline)
   */
  static JobHistory empty(List<String> taskOrder, int recent) {
    return new JobHistory(taskOrder, recent);
  }

  /**
   * Reads the events {@code log} appended since this history was read or last read on: the
   * overview of a long job refreshes in time proportional to what is new, not to the whole log.
   * Not thread-safe: the caller holds this history while it reads on and while it uses it.
   */
  void readOn(EventLog log) {
    long position = lastSequence;
    while (true) {
      EventLog.Slice slice = log.read(position, EVENTS_PER_READ);
      if (slice.missed()) {
        missed += slice.lastMissed() - slice.firstMissed() + 1;
        position = slice.lastMissed();
      }
      for (TrainingEvent event : slice.events()) {
        position = event.getSequence();
        if (event.hasStepCompleted()) {
          var step = event.getStepCompleted();
          TaskSeries series = tasks.computeIfAbsent(step.getTask(), TaskSeries::new);
          series.add(step.getStep(), millis(event), step.getLoss(), step.getStaleness());
          series.examples += step.getExamples();
          if (recent > 0) {
            if (latest.size() == recent) {
              latest.removeFirst();
            }
            latest.addLast(event);
          }
        } else {
          others.add(event);
        }
      }
      if (slice.events().isEmpty()) {
        break;
      }
    }
    lastSequence = position;
  }

  static double millis(TrainingEvent event) {
    return event.getTime().getSeconds() * 1e3 + event.getTime().getNanos() / 1e6;
  }

  /** Every task's series, in spec order. */
  Map<String, TaskSeries> tasks() {
    return tasks;
  }

  /** Events other than steps, in sequence order. */
  List<TrainingEvent> others() {
    return others;
  }

  /** The latest step events, oldest first. */
  List<TrainingEvent> recentSteps() {
    return List.copyOf(latest);
  }

  /** Sequence number of the last event read: the live stream goes on after it. */
  long lastSequence() {
    return lastSequence;
  }

  /** Events that had left the log's retained window. */
  long missed() {
    return missed;
  }
}
