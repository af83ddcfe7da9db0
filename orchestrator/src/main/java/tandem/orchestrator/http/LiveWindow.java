package tandem.orchestrator.http;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import tandem.api.v1.StepCompleted;
import tandem.api.v1.TrainingEvent;

/**
 * What a job page draws of a stretch of the job's events (a window of a fraction of a second),
 * summarised on the server so that the page gets a few messages a second however fast the job
 * steps: per task, its steps' count and the points with the window's lowest, highest and last
 * loss (so a spike is never hidden), each with the smoothed loss; per worker, its time split into
 * compute, queue wait and idle in {@link #SLOT_MILLIS} slots; and every other event (evaluations,
 * checkpoints, schedule changes, the job's end) whole.
 *
 * <p>Smoothing without the history: a window's steps are averaged by a {@link StepWeightedEma}
 * started afresh at the window's first step ({@code w}). The page holds the average {@code v0}
 * at the task's previous step {@code s0}; the average over every step at a point of step
 * {@code s} is then {@code w + 2^(-(s - s0) / halfLife) * (v0 - y1)}, with {@code y1} the
 * window's first loss: what the step-by-step average gives (to a float's precision), since
 * each step keeps the same share of everything before it. So the curve is smoothed alike
 * however the steps were cut into windows.
 *
 * <p>As JSON: {@code {"first", "last", "events", "time", "halfLife", "tasks": {name: {"n",
 * "s1", "y1", "points": [[seq, step, before, loss, staleness, w], ...]}}, "workers": {name:
 * [[slotStart, computeMs, queueMs, task], ...]}, "others": [event, ...]}}; times in epoch
 * milliseconds, a point's as the milliseconds {@code before} the window's time (its last
 * event's), points in step order; losses and their averages to a float's precision (as the
 * steps compute them): a double's 17 digits made the messages half again as long, and reading
 * them is most of what an open page costs its browser. Not thread-safe.
 */
final class LiveWindow {

  /** A worker timeline's resolution: a dashboard's 5 s are about 250 of them. */
  static final int SLOT_MILLIS = 20;

  /** A step longer than this many slots is drawn over its last ones only. */
  private static final int MAX_SLOTS_PER_STEP = 500;

  private final double halfLife;
  /** The tasks whose points the window keeps; null: every task's. */
  private final java.util.Set<String> shown;
  private final Map<String, TaskWindow> tasks = new LinkedHashMap<>();
  private final Timeline timeline = new Timeline();
  private final List<TrainingEvent> others = new ArrayList<>();
  private long first = -1;
  private long last = -1;
  private long time;
  private int events;

  /** @param halfLife the smoothing's half-life in job steps, as the page's */
  LiveWindow(double halfLife) {
    this(halfLife, null);
  }

  /**
   * A window keeping the points of {@code shown} only (null: every task's): a page draws the
   * curves of the dozen tasks on its screen, and the points of all 200 of a 200-task job were
   * most of each message it read. Its workers' timeline still counts every step.
   */
  LiveWindow(double halfLife, java.util.Set<String> shown) {
    this.halfLife = halfLife;
    this.shown = shown;
  }

  void add(TrainingEvent event) {
    if (first < 0) {
      first = event.getSequence();
    }
    last = event.getSequence();
    time = (long) JobHistory.millis(event);
    events++;
    if (event.hasStepCompleted()) {
      StepCompleted step = event.getStepCompleted();
      if (shown == null || shown.contains(step.getTask())) {
        tasks.computeIfAbsent(step.getTask(), task -> new TaskWindow(halfLife))
            .add(event.getSequence(), step, time);
      }
      timeline.add(step, time);
    } else {
      others.add(event);
    }
  }

  boolean isEmpty() {
    return events == 0;
  }

  /** The sequence number of the first event in the window; -1 when empty. */
  long first() {
    return first;
  }

  /** The sequence number of the last event in the window; -1 when empty. */
  long last() {
    return last;
  }

  /** The window as JSON (see the class comment). */
  String json() {
    return EventJson.json(200 + 120 * tasks.size() + 64 * others.size(), this::write);
  }

  private void write(JsonGenerator json) throws IOException {
    json.writeStartObject();
    json.writeNumberField("first", first);
    json.writeNumberField("last", last);
    json.writeNumberField("events", events);
    json.writeNumberField("time", time);
    json.writeNumberField("halfLife", halfLife);
    json.writeObjectFieldStart("tasks");
    for (Map.Entry<String, TaskWindow> task : tasks.entrySet()) {
      json.writeFieldName(task.getKey());
      task.getValue().write(json, time);
    }
    json.writeEndObject();
    json.writeFieldName("workers");
    timeline.write(json);
    json.writeArrayFieldStart("others");
    for (TrainingEvent event : others) {
      EventJson.writeEvent(json, event);
    }
    json.writeEndArray();
    json.writeEndObject();
  }

  /** One task's steps in a window. */
  private static final class TaskWindow {
    private final StepWeightedEma ema;
    private int n;
    private long firstStep;
    private double firstLoss;
    private Point lowest;
    private Point highest;
    private Point latest;

    TaskWindow(double halfLife) {
      this.ema = new StepWeightedEma(halfLife);
    }

    void add(long sequence, StepCompleted step, long time) {
      double loss = step.getLoss();
      if (n++ == 0) {
        firstStep = step.getStep();
        firstLoss = loss;
      }
      Point point = new Point(sequence, step.getStep(), time, loss, step.getStaleness(),
          ema.add(step.getStep(), loss));
      latest = point;
      if (!Double.isNaN(loss)) {
        if (lowest == null || loss < lowest.loss) {
          lowest = point;
        }
        if (highest == null || loss > highest.loss) {
          highest = point;
        }
      }
    }

    /** As JSON, each point's time as milliseconds before {@code windowTime}. */
    void write(JsonGenerator json, long windowTime) throws IOException {
      json.writeStartObject();
      json.writeNumberField("n", n);
      json.writeNumberField("s1", firstStep);
      json.writeNumberField("y1", (float) firstLoss);
      json.writeArrayFieldStart("points");
      // In step order, each once: the lowest and highest may be the latest.
      List<Point> points = new ArrayList<>(3);
      for (Point p : new Point[] {lowest, highest, latest}) {
        if (p != null && !points.contains(p)) {
          points.add(p);
        }
      }
      points.sort((a, b) -> Long.compare(a.sequence, b.sequence));
      for (Point p : points) {
        json.writeStartArray();
        json.writeNumber(p.sequence);
        json.writeNumber(p.step);
        json.writeNumber(windowTime - p.time);
        json.writeNumber((float) p.loss);
        json.writeNumber(p.staleness);
        json.writeNumber((float) p.smooth);
        json.writeEndArray();
      }
      json.writeEndArray();
      json.writeEndObject();
    }
  }

  private record Point(long sequence, long step, long time, double loss, long staleness,
      double smooth) {}

  /**
   * Each worker's time in {@link #SLOT_MILLIS} slots: how much of each its steps computed and
   * waited in its queue, and the task it computed most for. A step ending at {@code time} computed
   * for the {@code compute} before it and waited for the {@code queue} before that.
   */
  static final class Timeline {
    private final Map<String, TreeMap<Long, Slot>> workers = new TreeMap<>();

    void add(StepCompleted step, long time) {
      TreeMap<Long, Slot> slots = workers.computeIfAbsent(step.getWorker(), w -> new TreeMap<>());
      double end = time;
      double computeStart = end - 1000 * EventJson.seconds(step.getComputeTime());
      double queueStart = computeStart - 1000 * EventJson.seconds(step.getQueueTime());
      spread(slots, computeStart, end, step.getTask(), true);
      spread(slots, queueStart, computeStart, step.getTask(), false);
    }

    private static void spread(TreeMap<Long, Slot> slots, double from, double to, String task,
        boolean compute) {
      if (!(to > from)) {
        return;
      }
      long firstSlot = Math.max((long) Math.floor(from / SLOT_MILLIS),
          (long) Math.floor(to / SLOT_MILLIS) - MAX_SLOTS_PER_STEP);
      for (long s = firstSlot; s * SLOT_MILLIS < to; s++) {
        double overlap = Math.min(to, (s + 1.0) * SLOT_MILLIS) - Math.max(from, s * SLOT_MILLIS);
        if (overlap > 0) {
          Slot slot = slots.computeIfAbsent(s * SLOT_MILLIS, start -> new Slot());
          if (compute) {
            slot.compute += overlap;
            if (overlap > slot.topCompute) {
              slot.topCompute = overlap;
              slot.task = task;
            }
          } else {
            slot.queue += overlap;
          }
        }
      }
    }

    void write(JsonGenerator json) throws IOException {
      json.writeStartObject();
      for (Map.Entry<String, TreeMap<Long, Slot>> worker : workers.entrySet()) {
        json.writeArrayFieldStart(worker.getKey());
        for (Map.Entry<Long, Slot> slot : worker.getValue().entrySet()) {
          json.writeStartArray();
          json.writeNumber(slot.getKey());
          json.writeNumber(Math.round(slot.getValue().compute * 100) / 100.0);
          json.writeNumber(Math.round(slot.getValue().queue * 100) / 100.0);
          json.writeString(slot.getValue().task);
          json.writeEndArray();
        }
        json.writeEndArray();
      }
      json.writeEndObject();
    }
  }

  private static final class Slot {
    double compute;
    double queue;
    double topCompute;
    String task = "";
  }
}
