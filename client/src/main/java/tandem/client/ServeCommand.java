package tandem.client;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code tandem serve FILE...}: runs a server (in a child JVM) that serves model bundles. */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Run a Tandem server that serves the given model bundles (and trains jobs), "
        + "each under its file name without the extension.")
final class ServeCommand implements Callable<Integer> {

  @Parameters(arity = "1..*", paramLabel = "BUNDLE", description = "Model bundle files.")
  List<Path> bundles;

  @Mixin
  ServerOptions serverOptions;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    List<String> args = new ArrayList<>(serverOptions.arguments());
    for (Path bundle : bundles) {
      // Caught here, the typo gets a one-line message instead of a server that serves nothing.
      if (!Files.isRegularFile(bundle)) {
        spec.commandLine().getErr().println("tandem: no bundle file " + bundle);
        return ExitCodes.USAGE;
      }
      args.add("--model");
      args.add(bundle.toAbsolutePath().toString());
    }
    try (ServerProcess server = ServerProcess.start(args, null)) {
      return server.waitFor();
    }
  }
}
