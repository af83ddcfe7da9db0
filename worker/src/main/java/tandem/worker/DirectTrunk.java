package tandem.worker;

import org.apache.pekko.actor.typed.ActorRef;

/**
 * The shared modules of an async job whose workers all run in the shared-parameter actor's JVM
 * (the embedded default), or of a sync job on one worker there: a worker reads the newest
 * version here before each step and applies its step's shared gradients here itself, on its own
 * thread, as the job's shared-parameter actor would (the job's stale-gradient policy,
 * aggregation and optimizer; a sync round on one worker is that one step). A step then costs no
 * message to the shared-parameter actor and no new version back: on a 2-core machine those
 * hand-offs, and the updates of both workers landing on one thread, cost two workers about half
 * of what two independent training loops reach (bench/run.sh async).
 *
 * <p>Jobs with a worker on another node keep the messages ({@link Worker.SharedGradients},
 * {@link Worker.OfferTrunkVersion}). Implementations are thread-safe; one update at a time.
 */
public interface DirectTrunk {

  /**
   * The newest version of the shared modules, which {@code reader} reads from now until its next
   * call (its arrays are not reused meanwhile).
   */
  TrunkSnapshot newest(ActorRef<Worker.Command> reader);

  /**
   * Applies one step's shared gradients: the arrays are handed over for the call and not read
   * after it returns. A second gradient for a step number already applied (a step re-run after
   * its worker was lost) is not applied and comes back as dropped.
   */
  Applied apply(Worker.SharedGradients gradients);

  /**
   * Applies several steps' shared gradients in order, one after the other with no update of
   * another worker in between, as {@link #apply} does each (the same results, bit for bit): the
   * shared state is read once for all of them, in one pass of the optimizer where it can, and
   * only the last of their versions is published.
   */
  default java.util.List<Applied> applyAll(java.util.List<Worker.SharedGradients> gradients) {
    return gradients.stream().map(this::apply).toList();
  }

  /**
   * As {@link #applyAll}, unless another worker's update runs at the moment: then nothing is
   * applied and the call returns empty at once, instead of waiting for it (the caller keeps the
   * gradients and offers them again after its next step).
   */
  default java.util.Optional<java.util.List<Applied>> applyAllUnlessBusy(
      java.util.List<Worker.SharedGradients> gradients) {
    return java.util.Optional.of(applyAll(gradients));
  }

  /**
   * What {@link #apply} did: the version current afterwards, the step's staleness (versions
   * applied between the one it read and its own update) and whether it was dropped.
   */
  record Applied(long version, long staleness, boolean dropped) {}
}
