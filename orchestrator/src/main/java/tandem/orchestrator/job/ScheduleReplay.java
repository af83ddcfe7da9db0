package tandem.orchestrator.job;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import tandem.api.v1.ScheduleChange;
import tandem.model.spec.InvalidSpecException;
import tandem.model.spec.SettingsSpecs;
import tandem.orchestrator.checkpoint.Checkpoint;
import tandem.orchestrator.schedule.Schedule;

/**
 * A resumed job's schedule: the spec's and the changes after it (as the checkpoint records
 * them, see CheckpointManifest), with their draws replayed up to the checkpoint's step, so the
 * resumed job draws the same tasks as an uninterrupted one. Stateless.
 */
final class ScheduleReplay {

  private ScheduleReplay() {}

  /**
   * @param schedule the spec's schedule, drawing from {@code random}
   * @param tasks the job's tasks, in spec order, with their training data sizes
   */
  static Schedule replay(Checkpoint from, Schedule schedule, List<String> tasks,
      Map<String, Integer> dataSizes, SplittableRandom random) {
    List<ScheduleChange> changes = from.scheduleChanges();
    long done = 0;
    for (int i = 0; i < changes.size(); i++) {
      long until = i + 1 < changes.size() ? changes.get(i + 1).getAfterStep() : from.step();
      if (i > 0) {
        try {
          schedule = Schedule.create(SettingsSpecs.schedule(changes.get(i).getSchedule(),
              tasks, "schedule"), tasks, dataSizes, random);
        } catch (InvalidSpecException e) {
          throw new IllegalStateException("a checkpoint's schedule change is invalid", e);
        }
      }
      for (; done < until; done++) {
        schedule.peek();
        schedule.advance();
      }
    }
    return schedule;
  }
}
