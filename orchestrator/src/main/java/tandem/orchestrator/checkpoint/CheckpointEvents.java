package tandem.orchestrator.checkpoint;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import tandem.api.v1.CheckpointManifest;
import tandem.api.v1.TrainingEvent;
import tandem.orchestrator.job.EventLog;

/**
 * A checkpoint's {@code events.pb} read back: a format 3 one as it is (the newest events), a
 * format 1 or 2 one (every event since the job began, which after millions of steps is far
 * more than a heap holds as objects) folded one event at a time into what format 3 keeps.
 */
final class CheckpointEvents {

  /** Events kept of a format 1 or 2 checkpoint's history (its newest; format 3's default). */
  static final int LEGACY_EVENTS_KEPT = 10_000;

  private CheckpointEvents() {}

  /** A format 3 checkpoint's events.pb: its length-delimited events; none if it is missing. */
  static List<TrainingEvent> read(Path file) throws IOException {
    List<TrainingEvent> events = new ArrayList<>();
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
      TrainingEvent event;
      while ((event = TrainingEvent.parseDelimitedFrom(in)) != null) {
        events.add(event);
      }
    } catch (NoSuchFileException e) {
      return List.of();
    }
    return events;
  }

  /**
   * A format 1 or 2 checkpoint's history, read one event at a time and folded into its newest
   * {@link #LEGACY_EVENTS_KEPT} events and the log's state.
   */
  static EventLog.Retained fold(Path file, CheckpointManifest manifest) throws IOException {
    String job = manifest.getJobId();
    String name = manifest.getSpec().getName();
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
      return EventLog.fold(job, name, () -> TrainingEvent.parseDelimitedFrom(in),
          LEGACY_EVENTS_KEPT);
    } catch (NoSuchFileException e) {
      return EventLog.fold(job, name, () -> null, LEGACY_EVENTS_KEPT);
    } catch (IllegalArgumentException e) {
      throw new IOException("events.pb: " + e.getMessage(), e);
    }
  }
}
