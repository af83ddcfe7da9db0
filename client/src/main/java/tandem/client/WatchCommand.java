package tandem.client;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code tandem watch JOB}: follows a job's events live until it ends. */
@Command(name = "watch", mixinStandardHelpOptions = true,
    description = "Follow a job's losses live until it ends; exit 1 unless it succeeded.")
final class WatchCommand extends RemoteCommand {

  @Parameters(index = "0", paramLabel = "JOB", description = "The job id.")
  String jobId;

  @Option(names = "--after", paramLabel = "SEQ", defaultValue = "0",
      description = "Start after this event sequence number (default: the whole log).")
  long afterSequence;

  @Option(names = "--incarnation", paramLabel = "N", defaultValue = "0",
      description = "Incarnation of event SEQ as you got it (a --json event's \"incarnation\"); if"
          + " the job resumed from a checkpoint since, you are told from where it re-sends events.")
  long incarnation;

  @Option(names = "--json", description = "Print each event as a JSON line, then a summary object.")
  boolean json;

  @Override
  protected int run(TandemClient client) {
    return follow(client, jobId, afterSequence, incarnation, json);
  }
}
