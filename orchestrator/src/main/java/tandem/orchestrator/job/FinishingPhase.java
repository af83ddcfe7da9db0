package tandem.orchestrator.job;

import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.ReceiveBuilder;
import tandem.api.v1.JobState;
import tandem.orchestrator.job.Coordinator.Cancel;
import tandem.orchestrator.job.Coordinator.Command;
import tandem.orchestrator.job.Coordinator.FinishedMarked;
import tandem.orchestrator.job.Coordinator.TasksAssigned;
import tandem.orchestrator.job.Coordinator.Tick;
import tandem.orchestrator.job.Coordinator.UpdateSchedule;

/**
 * The job has ended (its workers are released): its directory is marked finished by the job
 * directory's writer, after any checkpoint still being written, and only then is job_finished
 * appended and the coordinator stops, so that no client sees a job finished that a restart
 * would resume. A mark that fails or takes longer than {@code checkpoint-write-timeout} is
 * logged and the job ends anyway.
 */
final class FinishingPhase extends PhaseBehavior {

  private final JobState state;
  private final String message;
  private final List<ActorRef<JobManager.Outcome>> cancelled = new ArrayList<>();

  private FinishingPhase(JobRun run, JobState state, String message) {
    super(run);
    this.state = state;
    this.message = message;
  }

  static FinishingPhase start(JobRun run, JobState state, String message) {
    run.timers.cancelAll();
    run.context.pipeToSelf(CheckpointingPhase.withTimeout(run.writer.markFinished(state.name()),
            run.timeouts.checkpointWrite(), "the job directory's writer to mark it finished"),
        (done, error) -> new FinishedMarked(error));
    return new FinishingPhase(run, state, message);
  }

  /** Replies to a cancel once job_finished is in the log. */
  void replyWhenDone(ActorRef<JobManager.Outcome> replyTo) {
    cancelled.add(replyTo);
  }

  @Override
  protected void handlers(ReceiveBuilder<Command> builder) {
    builder.onMessage(FinishedMarked.class, this::onMarked)
        .onMessage(Cancel.class, cancel -> {
          replyWhenDone(cancel.replyTo());
          return this;
        })
        .onMessage(UpdateSchedule.class, update -> {
          update.replyTo().tell(JobManager.Outcome.NOT_RUNNING);
          return this;
        })
        .onMessage(TasksAssigned.class, assigned -> this)
        .onMessage(Tick.class, tick -> this)
        .onSignal(Terminated.class, signal -> this)
        .onSignal(PostStop.class, signal -> {
          // Stopped before the mark came (the server shutting down): the job still ends.
          run.publishFinished(state, message);
          return onPostStop();
        });
  }

  private Behavior<Command> onMarked(FinishedMarked marked) {
    if (marked.error() != null) {
      run.context.getLog().warn("job {}: cannot mark its directory finished: {}", run.jobId(),
          reason(marked.error()));
    }
    run.publishFinished(state, message);
    cancelled.forEach(replyTo -> replyTo.tell(JobManager.Outcome.ACCEPTED));
    return Behaviors.stopped();
  }
}
