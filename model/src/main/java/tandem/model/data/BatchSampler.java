package tandem.model.data;

import java.util.SplittableRandom;

/**
 * Row indices of successive batches: each epoch visits every row once in an order shuffled by a
 * seeded stream, so the same seed gives the same batches. A data set smaller than the batch size
 * gives batches of the whole set. Confined to one thread.
 */
public final class BatchSampler {

  private final int dataSize;
  private final int batchSize;
  private final SplittableRandom random;
  private final int[] order;
  private int position;
  private long batchesDrawn;

  public BatchSampler(int dataSize, int batchSize, long seed) {
    if (dataSize <= 0 || batchSize <= 0) {
      throw new IllegalArgumentException(
          "expected positive data and batch sizes, found " + dataSize + " and " + batchSize);
    }
    this.dataSize = dataSize;
    this.batchSize = Math.min(batchSize, dataSize);
    this.random = new SplittableRandom(seed);
    this.order = new int[dataSize];
    for (int i = 0; i < dataSize; i++) {
      order[i] = i;
    }
    shuffle();
  }

  /** Rows of the next batch; always {@link #batchSize()} of them (an epoch's tail wraps over). */
  public int[] next() {
    int[] rows = new int[batchSize];
    for (int i = 0; i < batchSize; i++) {
      if (position == dataSize) {
        shuffle();
      }
      rows[i] = order[position++];
    }
    batchesDrawn++;
    return rows;
  }

  /**
   * Draws and discards batches until {@code batchesDrawn} have been handed out: a resumed job
   * continues the same seeded stream where its checkpoint left it.
   */
  public void skipTo(long batches) {
    if (batches < batchesDrawn) {
      throw new IllegalArgumentException("expected at least the " + batchesDrawn
          + " batches already drawn, found " + batches);
    }
    while (batchesDrawn < batches) {
      next();
    }
  }

  /** Rows per batch: the requested size, or the data size if smaller. */
  public int batchSize() {
    return batchSize;
  }

  /** Batches handed out so far; the index of the next one. */
  public long batchesDrawn() {
    return batchesDrawn;
  }

  private void shuffle() {
    for (int i = dataSize - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int swap = order[i];
      order[i] = order[j];
      order[j] = swap;
    }
    position = 0;
  }
}
