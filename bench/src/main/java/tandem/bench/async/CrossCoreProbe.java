package tandem.bench.async;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * What sharing state between two threads costs on this machine at this moment: two threads take
 * turns running an Adam-style update over the same arrays (parameters, moments, the output), as
 * two async workers take turns updating the trunk they share, against the same threads each
 * updating arrays of its own. The ratio of the two times per update is 1 when the two CPUs share
 * their caches and grows when every turn moves the arrays from one CPU's cache to the other's.
 *
 * <p>On the project's 2-core virtual machine the ratio moved between 1.05 and 6.7 within an
 * evening, with the same code: the host places the two vCPUs differently over time. Two-worker
 * async runs slow down with it (their workers share the trunk and its optimizer state) while two
 * bare loops, which share nothing, do not; so the async benchmark prints it beside each
 * repetition.
 */
final class CrossCoreProbe {

  /** Floats per array: the two-head trunk's parameter count (64 x 256 + 256). */
  private static final int SIZE = 16_640;

  private CrossCoreProbe() {}

  /** Time per update with the state shared and updated in turns, over the time with it unshared. */
  static double sharingCost(int updates) throws InterruptedException {
    double own = microsPerUpdate(false, updates);
    double shared = microsPerUpdate(true, updates);
    return shared / own;
  }

  private static double microsPerUpdate(boolean shared, int updates)
      throws InterruptedException {
    float[][] common = state();
    AtomicInteger turn = new AtomicInteger();
    long[] busy = new long[2];
    Thread[] threads = new Thread[2];
    for (int t = 0; t < 2; t++) {
      int me = t;
      float[][] mine = shared ? common : state();
      threads[t] = new Thread(() -> {
        float[] gradient = new float[SIZE];
        for (int i = 0; i < SIZE; i++) {
          gradient[i] = (float) Math.sin(i + me);
        }
        for (int u = 0; u < updates; u++) {
          if (shared) {
            while (turn.get() % 2 != me) {
              Thread.onSpinWait();
            }
          }
          long start = System.nanoTime();
          update(mine, gradient, u + 1);
          busy[me] += System.nanoTime() - start;
          if (shared) {
            turn.incrementAndGet();
          }
        }
      }, "cross-core-probe-" + t);
    }
    for (Thread thread : threads) {
      thread.start();
    }
    for (Thread thread : threads) {
      thread.join();
    }
    return (busy[0] + busy[1]) / 2.0 / updates / 1000;
  }

  /** Parameters, first and second moments, output. */
  private static float[][] state() {
    return new float[][] {new float[SIZE], new float[SIZE], new float[SIZE], new float[SIZE]};
  }

  private static void update(float[][] state, float[] gradient, int t) {
    float[] parameters = state[0];
    float[] m = state[1];
    float[] v = state[2];
    float[] out = state[3];
    float stepSize = (float) (1e-3 * Math.sqrt(1 - Math.pow(0.999, t)) / (1 - Math.pow(0.9, t)));
    for (int i = 0; i < SIZE; i++) {
      float g = gradient[i];
      float mi = 0.9f * m[i] + 0.1f * g;
      float vi = 0.999f * v[i] + 0.001f * g * g;
      m[i] = mi;
      v[i] = vi;
      out[i] = parameters[i] - stepSize * mi / ((float) Math.sqrt(vi) + 1e-8f);
    }
    state[0] = out;
    state[3] = parameters;
  }
}
