package tandem.client;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** The top-level {@code tandem} command: only dispatches to its subcommands. */
@Command(name = "tandem", mixinStandardHelpOptions = true, version = "tandem 0.1.0",
    description = "Train multi-task networks on a Tandem server.",
    subcommands = {
        ServerCommand.class, SubmitCommand.class, WatchCommand.class, JobsCommand.class,
        StatusCommand.class, CancelCommand.class, ScheduleCommand.class, DemoCommand.class,
        ExportCommand.class, ServeCommand.class, ModelsCommand.class, PredictCommand.class,
        AddTaskCommand.class, ResumeCommand.class, WorkerCommand.class,
        CommandLine.HelpCommand.class},
    footer = {"", "Exit codes: 0 ok, 1 job failed or below 100%% (demo), 2 usage, spec or connection error."})
final class TandemCommand implements Runnable {

  @Spec
  CommandSpec spec;

  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "missing subcommand");
  }
}
