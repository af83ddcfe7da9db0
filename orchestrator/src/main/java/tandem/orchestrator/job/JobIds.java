package tandem.orchestrator.job;

import java.util.regex.Pattern;

/**
 * Job ids: {@code job-} and a decimal number of at most 18 digits ({@code job-0001}). They name
 * directories under the job directory and actors, so anything else a client sends as a job id
 * is refused before it reaches either. Immutable.
 */
public final class JobIds {

  /** What every job id matches. */
  public static final Pattern PATTERN = Pattern.compile("job-\\d{1,18}");

  private JobIds() {}

  public static boolean isValid(String jobId) {
    return jobId != null && PATTERN.matcher(jobId).matches();
  }

  /** The id of the {@code number}th job. */
  public static String of(long number) {
    return String.format("job-%04d", number);
  }

  /** The number in {@code jobId}, which must be valid. */
  public static long number(String jobId) {
    return Long.parseLong(jobId.substring(4));
  }
}
