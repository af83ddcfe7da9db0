package tandem.orchestrator.job;

/**
 * Which optimizer state of the shared-parameter actor a shared module's update uses: the
 * module's own, or ({@code task} set, for jobs with per-task shared state) the module's for one
 * task. Checkpoints and {@link SharedParameters.State} key the states by {@link #encoded()}.
 * Immutable.
 *
 * @param task null for the module's one shared state
 */
record OptimizerKey(String module, String task) {

  private static final char SEPARATOR = '\u0000';

  OptimizerKey {
    if (task != null && task.isEmpty()) {
      task = null;
    }
  }

  /** The module, or the module and the task separated by a NUL (no name contains one). */
  String encoded() {
    return task == null ? module : module + SEPARATOR + task;
  }

  /** The key {@link #encoded()} wrote. */
  static OptimizerKey decode(String encoded) {
    int split = encoded.indexOf(SEPARATOR);
    return split < 0 ? new OptimizerKey(encoded, null)
        : new OptimizerKey(encoded.substring(0, split), encoded.substring(split + 1));
  }
}
