package tandem.orchestrator;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;

/**
 * The dispatchers of the embedded workers: one single-thread dispatcher per worker slot, so that
 * a worker always runs on the same thread (ND4J binds a device to a thread; a fresh worker that
 * replaces a stopped one, see {@link WorkerDirectory}, takes the same) and a job's
 * shared-parameter actor can run on a worker's thread in sync mode (see {@code JobManager}).
 * Built from {@code tandem.worker.compute-dispatcher}'s settings. Stateless.
 */
final class WorkerThreads {

  private WorkerThreads() {}

  /** The config path of local worker {@code index}'s dispatcher. */
  static String dispatcher(int index) {
    return "tandem.orchestrator.worker-threads.worker-" + index;
  }

  /** {@code config} plus a dispatcher for each of {@code workers} local workers. */
  static Config withDispatchers(Config config, int workers) {
    StringBuilder dispatchers = new StringBuilder();
    for (int i = 0; i < workers; i++) {
      dispatchers.append(dispatcher(i)).append(" = ${tandem.orchestrator.worker-thread}\n");
    }
    return ConfigFactory.parseString(dispatchers.toString()).withFallback(config).resolve();
  }
}
