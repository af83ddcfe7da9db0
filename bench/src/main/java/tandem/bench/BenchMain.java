package tandem.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import tandem.bench.routing.RoutingBench;
import tandem.bench.twohead.TwoHeadBench;

/**
 * Entry point of Tandem's benchmarks: one picocli subcommand per benchmark, each printing its
 * figures as a table or, with {@code --json}, as one JSON object. Run it through
 * {@code bench/run.sh}, which sets the JVM flags and {@code OMP_NUM_THREADS=1} the figures assume.
 */
@Command(name = "tandem-bench", mixinStandardHelpOptions = true,
    description = "Tandem benchmarks; each prints its figures (--json for one JSON object).",
    subcommands = {RoutingBench.class, TwoHeadBench.class,
        tandem.bench.async.AsyncScalingBench.class,
        tandem.bench.coordinator.CoordinatorBench.class, tandem.bench.serving.ServingBench.class,
        tandem.bench.broadcast.BroadcastBench.class, tandem.bench.conll.ConllBench.class,
        tandem.bench.peers.PeersBench.class, tandem.bench.dashboard.DashboardBench.class,
        tandem.bench.soak.SoakBench.class, tandem.bench.soak.MemoryBench.class,
        tandem.bench.modules.ModulesBench.class,
        CommandLine.HelpCommand.class})
public final class BenchMain implements Runnable {

  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The command line of every benchmark, as {@link #main} runs it (tests run it the same way). */
  public static CommandLine commandLine() {
    return new CommandLine(new BenchMain()).setCaseInsensitiveEnumValuesAllowed(true);
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "name a benchmark");
  }
}
