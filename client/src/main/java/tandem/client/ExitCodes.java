package tandem.client;

/** Exit codes of the {@code tandem} command line, for scripts that branch on them. */
final class ExitCodes {

  /** The command did what was asked (for watches: the job succeeded). */
  static final int OK = 0;
  /** The job failed or was cancelled, or (demo) did not reach 100% accuracy. */
  static final int JOB_FAILED = 1;
  /** Bad usage, an unreadable or rejected spec, or no server to talk to. */
  static final int USAGE = 2;

  private ExitCodes() {}
}
