package tandem.orchestrator.grpc;

import java.util.Locale;
import tandem.api.v1.JobState;

/** Human words for job states in error messages ({@code succeeded}, {@code cancelled}). */
final class JobStatuses {

  private JobStatuses() {}

  static String label(JobState state) {
    return state.name().replace("JOB_STATE_", "").toLowerCase(Locale.ROOT);
  }
}
