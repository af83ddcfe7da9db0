package tandem.orchestrator.job;

import java.util.ArrayList;
import java.util.List;
import tandem.api.v1.LossPoint;

/**
 * A task's loss over a run in bounded memory: points are means over buckets of steps, and when
 * the curve reaches {@link #MAX_POINTS} neighbouring buckets merge and the bucket size doubles, so
 * a run of any length keeps between half and all of {@code MAX_POINTS} evenly spread points.
 * Confined to its {@link JobProgress}.
 */
final class LossCurve {

  static final int MAX_POINTS = 256;

  private final List<double[]> points = new ArrayList<>(); // {last step, loss sum, count}
  private long bucketSize = 1;
  private double pendingSum;
  private long pendingCount;
  private long pendingStep;

  void add(long step, double loss) {
    pendingSum += loss;
    pendingCount++;
    pendingStep = step;
    if (pendingCount == bucketSize) {
      points.add(new double[] {pendingStep, pendingSum, pendingCount});
      pendingSum = 0;
      pendingCount = 0;
      if (points.size() == MAX_POINTS) {
        merge();
      }
    }
  }

  List<LossPoint> points() {
    List<LossPoint> out = new ArrayList<>(points.size() + 1);
    for (double[] point : points) {
      out.add(LossPoint.newBuilder().setStep((long) point[0]).setLoss(point[1] / point[2]).build());
    }
    if (pendingCount > 0) {
      out.add(LossPoint.newBuilder().setStep(pendingStep).setLoss(pendingSum / pendingCount)
          .build());
    }
    return out;
  }

  /** The curve as a checkpoint keeps it. */
  tandem.api.v1.LossCurveState snapshot(String task) {
    tandem.api.v1.LossCurveState.Builder state = tandem.api.v1.LossCurveState.newBuilder()
        .setTask(task).setBucketSize(bucketSize).setPendingSum(pendingSum)
        .setPendingCount(pendingCount).setPendingStep(pendingStep);
    for (double[] point : points) {
      state.addBuckets(point[0]).addBuckets(point[1]).addBuckets(point[2]);
    }
    return state.build();
  }

  /** The curve {@link #snapshot} kept. */
  static LossCurve restore(tandem.api.v1.LossCurveState state) {
    LossCurve curve = new LossCurve();
    for (int i = 0; i + 2 < state.getBucketsCount(); i += 3) {
      curve.points.add(new double[] {state.getBuckets(i), state.getBuckets(i + 1),
          state.getBuckets(i + 2)});
    }
    curve.bucketSize = Math.max(1, state.getBucketSize());
    curve.pendingSum = state.getPendingSum();
    curve.pendingCount = state.getPendingCount();
    curve.pendingStep = state.getPendingStep();
    return curve;
  }

  private void merge() {
    List<double[]> merged = new ArrayList<>(MAX_POINTS / 2);
    for (int i = 0; i + 1 < points.size(); i += 2) {
      double[] a = points.get(i);
      double[] b = points.get(i + 1);
      merged.add(new double[] {b[0], a[1] + b[1], a[2] + b[2]});
    }
    points.clear();
    points.addAll(merged);
    bucketSize *= 2;
  }
}
