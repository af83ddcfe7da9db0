package tandem.client;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import tandem.api.v1.ModelInfo;
import tandem.api.v1.TaskInfo;

/** {@code tandem models}: the models a server answers with. */
@Command(name = "models", mixinStandardHelpOptions = true,
    description = "List the served models (loaded bundles and succeeded jobs) and their tasks.")
final class ModelsCommand extends RemoteCommand {

  @Option(names = "--json", description = "Print one JSON object per line.")
  boolean json;

  @Override
  protected int run(TandemClient client) {
    for (ModelInfo model : client.models()) {
      if (json) {
        out().println(JsonView.json(model));
        continue;
      }
      out().printf("%-20s %-6s %4d tasks  %9d parameters  shared %s%n", model.getName(),
          model.getKind(), model.getTasksCount(), model.getParameters(),
          model.getSharedModulesList());
      int shown = 0;
      for (TaskInfo task : model.getTasksList()) {
        if (shown++ == 5) {
          out().println("    ... " + (model.getTasksCount() - 5) + " more tasks");
          break;
        }
        out().printf("    %-16s input %s[%d] -> %s%n", task.getTask(), task.getInput(),
            task.getInputWidth(), task.getOutputsList());
      }
    }
    return ExitCodes.OK;
  }
}
