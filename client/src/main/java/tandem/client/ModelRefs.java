package tandem.client;

import java.util.regex.Pattern;

/**
 * How the command line tells a job from a model: {@code job-0007} is a job id (the server's
 * format), anything else a served model's name. Stateless.
 */
final class ModelRefs {

  private static final Pattern JOB_ID = Pattern.compile("job-\\d+");

  private ModelRefs() {}

  static boolean isJob(String reference) {
    return JOB_ID.matcher(reference).matches();
  }
}
