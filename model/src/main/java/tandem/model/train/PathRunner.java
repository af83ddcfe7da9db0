package tandem.model.train;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import tandem.model.data.Batch;
import tandem.model.kernel.Kernels;
import tandem.model.module.Module;
import tandem.model.spec.Branch;
import tandem.model.spec.PathStep;

/**
 * Runs a task's path steps forward and backward. A route step gathers the examples of each branch
 * into one contiguous sub-batch ({@link RowCopy}), runs only that branch on them, and scatters the
 * outputs back to the examples' rows; backward does the
 * same with the gradients. Module buffers are kept per module and row count, so sub-batches of a
 * size seen before allocate nothing new in the modules. A forward pass records what its backward
 * pass needs; the backward pass must follow the forward pass it belongs to. Confined to one thread.
 */
final class PathRunner {

  private final List<PathStep> steps;
  private final String input;
  private final DataType dataType;
  /**
   * Module buffers by module and row count. A route step's branches see a different row count in
   * almost every batch, so up to {@value #CACHED_ROW_COUNTS} row counts per module are kept (every
   * sub-batch of a 128-row batch), the least recently used dropped beyond that.
   */
  private final Map<String, Map<Integer, Module.Buffers>> buffers = new HashMap<>();
  static final int CACHED_ROW_COUNTS = 128;
  /** Row-gather and stacking arrays of route steps, by purpose, step, branch and shape. */
  private final Map<String, INDArray> routeArrays = new LruCache<>(4 * CACHED_ROW_COUNTS);
  /** Heap work arrays of the fused merge, by purpose. */
  private final Map<String, float[]> heapArrays = new HashMap<>();
  /** Per step, what the last forward pass routed (null for steps that do not route). */
  private final Routing[] routings;

  PathRunner(List<PathStep> steps, String input, DataType dataType) {
    this.steps = steps;
    this.input = input;
    this.dataType = dataType;
    this.routings = new Routing[steps.size()];
  }

  /** The rows each branch took in the last forward pass of a route step. */
  private record Routing(int[][] rowsByBranch) {}

  /** The path's output for {@code batch}; the task input itself when there are no steps. */
  INDArray forward(Map<String, INDArray> parameters, Batch batch) {
    INDArray x = input == null ? null : batch.field(input);
    for (int k = 0; k < steps.size(); k++) {
      x = forwardStep(k, parameters, batch, x);
    }
    return x;
  }

  /** Back-propagates dLoss/dOutput of the last {@link #forward}, adding into {@code gradients}. */
  void backward(Map<String, INDArray> parameters, INDArray outputGradient,
      Map<String, INDArray> gradients) {
    INDArray epsilon = outputGradient;
    for (int k = steps.size() - 1; k >= 0 && epsilon != null; k--) {
      epsilon = backwardStep(k, parameters, epsilon, gradients, k > 0);
    }
  }

  private INDArray forwardStep(int k, Map<String, INDArray> parameters, Batch batch,
      INDArray previous) {
    PathStep step = steps.get(k);
    int rows = batch.size();
    if (step instanceof PathStep.Single single) {
      return forwardBranch(parameters, step.branches().get(0), previous, rows);
    }
    if (step instanceof PathStep.Route route) {
      Routing routing = route(batch.field(route.field()), route.branches().size());
      routings[k] = routing;
      // Made once per shape (ND4J allocations cost tens of us each), column-major like the dense
      // modules' own arrays.
      INDArray output = routeArray("output", k, -1, rows, route.outputSize(), 'f');
      for (int b = 0; b < route.branches().size(); b++) {
        int[] branchRows = routing.rowsByBranch()[b];
        if (branchRows.length == 0) {
          continue;
        }
        Branch branch = route.branches().get(b);
        INDArray source = branch.readsField() ? batch.field(branch.input()) : previous;
        // In the source's order, so that the gather copies whole rows or whole columns.
        INDArray gathered = routeArray("gathered", k, b, branchRows.length, source.size(1),
            source.ordering());
        RowCopy.gather(source, branchRows, gathered);
        RowCopy.scatter(forwardBranch(parameters, branch, gathered, branchRows.length),
            branchRows, output);
      }
      return output;
    }
    PathStep.Merge merge = (PathStep.Merge) step;
    if (dataType == DataType.FLOAT && Kernels.path() == Kernels.Path.FUSED) {
      return forwardMergeFused(k, merge, parameters, batch, previous, rows);
    }
    INDArray merged = Nd4j.create(dataType, rows, merge.outputSize());
    int column = 0;
    for (Branch branch : merge.branches()) {
      INDArray source = branch.readsField() ? batch.field(branch.input()) : previous;
      INDArray out = forwardBranch(parameters, branch, source, rows);
      if (merge.sum()) {
        merged.addi(out);
      } else {
        columnBlock(merged, column, branch.outputSize()).assign(out);
        column += branch.outputSize();
      }
    }
    return merged;
  }

  private INDArray backwardStep(int k, Map<String, INDArray> parameters, INDArray epsilon,
      Map<String, INDArray> gradients, boolean inputNeeded) {
    PathStep step = steps.get(k);
    int rows = (int) epsilon.size(0);
    if (step instanceof PathStep.Single) {
      return backwardBranch(parameters, step.branches().get(0), epsilon, rows, gradients,
          inputNeeded);
    }
    INDArray inputGradient = null;
    if (step instanceof PathStep.Route route) {
      Routing routing = routings[k];
      INDArray stacked = null;
      for (int b = 0; b < route.branches().size(); b++) {
        int[] branchRows = routing.rowsByBranch()[b];
        if (branchRows.length == 0) {
          continue;
        }
        Branch branch = route.branches().get(b);
        INDArray branchEpsilon = routeArray("epsilon", k, b, branchRows.length, epsilon.size(1),
            epsilon.ordering());
        RowCopy.gather(epsilon, branchRows, branchEpsilon);
        INDArray gradient = backwardBranch(parameters, branch, branchEpsilon, branchRows.length,
            gradients, inputNeeded && !branch.readsField());
        if (gradient != null) {
          if (stacked == null) {
            stacked = routeArray("inputGradient", k, -1, rows, gradient.size(1),
                gradient.ordering());
            if (route.branches().stream().anyMatch(Branch::readsField)) {
              stacked.assign(0);
            }
          }
          RowCopy.scatter(gradient, branchRows, stacked);
        }
      }
      return stacked;
    }
    PathStep.Merge merge = (PathStep.Merge) step;
    if (Kernels.fused(epsilon)) {
      return backwardMergeFused(k, merge, parameters, epsilon, rows, gradients, inputNeeded);
    }
    int column = 0;
    for (Branch branch : merge.branches()) {
      INDArray branchEpsilon = merge.sum() ? epsilon.dup('c')
          : columnBlock(epsilon, column, branch.outputSize()).dup('c');
      column += branch.outputSize();
      INDArray gradient = backwardBranch(parameters, branch, branchEpsilon, rows, gradients,
          inputNeeded && !branch.readsField());
      if (gradient != null) {
        inputGradient = inputGradient == null ? gradient.dup() : inputGradient.addi(gradient);
      }
    }
    return inputGradient;
  }

  /**
   * A merge on the fused path: each branch's output is copied (concat) or added (sum) into a
   * row-major heap copy of the merged output, written once into an array made once per shape.
   */
  private INDArray forwardMergeFused(int k, PathStep.Merge merge, Map<String, INDArray> parameters,
      Batch batch, INDArray previous, int rows) {
    int width = merge.outputSize();
    float[] merged = heap("merged", rows * width);
    if (merge.sum()) {
      java.util.Arrays.fill(merged, 0, rows * width, 0f);
    }
    int column = 0;
    for (Branch branch : merge.branches()) {
      INDArray source = branch.readsField() ? batch.field(branch.input()) : previous;
      INDArray out = forwardBranch(parameters, branch, source, rows);
      int branchWidth = branch.outputSize();
      float[] values = heap("branch", rows * branchWidth);
      Kernels.readRowMajor(contiguous(out), values, heap("scratch", rows * branchWidth));
      for (int r = 0; r < rows; r++) {
        int to = r * width + column;
        int from = r * branchWidth;
        if (merge.sum()) {
          for (int c = 0; c < branchWidth; c++) {
            merged[to + c] += values[from + c];
          }
        } else {
          System.arraycopy(values, from, merged, to, branchWidth);
        }
      }
      if (!merge.sum()) {
        column += branchWidth;
      }
    }
    INDArray output = routeArray("merged", k, -1, rows, width, 'c');
    Kernels.write(merged, output);
    return output;
  }

  /**
   * A merge's backward pass on the fused path: each branch gets its columns (concat) or all of
   * the gradient (sum) in an array made once per shape, and the branches' input gradients are
   * summed on the heap.
   */
  private INDArray backwardMergeFused(int k, PathStep.Merge merge,
      Map<String, INDArray> parameters, INDArray epsilon, int rows,
      Map<String, INDArray> gradients, boolean inputNeeded) {
    int width = merge.outputSize();
    float[] incoming = heap("epsilon", rows * width);
    Kernels.readRowMajor(epsilon, incoming, heap("scratch", rows * width));
    float[] sum = null;
    INDArray inputGradient = null;
    int column = 0;
    for (int b = 0; b < merge.branches().size(); b++) {
      Branch branch = merge.branches().get(b);
      int branchWidth = branch.outputSize();
      INDArray branchEpsilon = routeArray("mergeEpsilon", k, b, rows, branchWidth, 'c');
      if (merge.sum()) {
        Kernels.write(incoming, branchEpsilon);
      } else {
        float[] columns = heap("branch", rows * branchWidth);
        for (int r = 0; r < rows; r++) {
          System.arraycopy(incoming, r * width + column, columns, r * branchWidth, branchWidth);
        }
        Kernels.write(columns, branchEpsilon);
        column += branchWidth;
      }
      INDArray gradient = backwardBranch(parameters, branch, branchEpsilon, rows, gradients,
          inputNeeded && !branch.readsField());
      if (gradient == null) {
        continue;
      }
      int inputWidth = (int) gradient.size(1);
      if (sum == null) {
        sum = heap("inputGradient", rows * inputWidth);
        Kernels.readRowMajor(contiguous(gradient), sum, heap("scratch", rows * inputWidth));
        inputGradient = routeArray("mergeInputGradient", k, -1, rows, inputWidth, 'c');
      } else {
        float[] term = heap("branch", rows * inputWidth);
        Kernels.readRowMajor(contiguous(gradient), term, heap("scratch", rows * inputWidth));
        for (int i = 0; i < rows * inputWidth; i++) {
          sum[i] += term[i];
        }
      }
    }
    if (inputGradient != null) {
      Kernels.write(sum, inputGradient);
    }
    return inputGradient;
  }

  private static INDArray contiguous(INDArray array) {
    return Kernels.contiguous(array) ? array : array.dup('c');
  }

  /** A heap work array of at least {@code length} floats, one per purpose. */
  private float[] heap(String purpose, int length) {
    float[] current = heapArrays.get(purpose);
    float[] array = Kernels.ensure(current, length);
    if (array != current) {
      heapArrays.put(purpose, array);
    }
    return array;
  }

  private INDArray forwardBranch(Map<String, INDArray> parameters, Branch branch, INDArray x,
      int rows) {
    for (Module module : branch.modules()) {
      x = module.forward(parameters.get(module.name()), x, buffers(module, rows));
    }
    return x;
  }

  private INDArray backwardBranch(Map<String, INDArray> parameters, Branch branch,
      INDArray epsilon, int rows, Map<String, INDArray> gradients, boolean inputNeeded) {
    for (int m = branch.modules().size() - 1; m >= 0; m--) {
      Module module = branch.modules().get(m);
      epsilon = module.backward(parameters.get(module.name()), epsilon, buffers(module, rows),
          gradients.get(module.name()), m > 0 || inputNeeded);
    }
    return epsilon;
  }

  /** A work array of a route step, made once per purpose, step, branch, shape and order. */
  private INDArray routeArray(String purpose, int step, int branch, long rows, long columns,
      char order) {
    return routeArrays.computeIfAbsent(purpose + "/" + step + "/" + branch + "/" + rows + "x"
        + columns + order, key -> Nd4j.create(dataType, new long[] {rows, columns}, order));
  }

  /** The largest number of row counts any module has buffers for. */
  int cachedRowCounts() {
    return buffers.values().stream().mapToInt(Map::size).max().orElse(0);
  }

  private Module.Buffers buffers(Module module, int rows) {
    return buffers.computeIfAbsent(module.name(), name -> new LruCache<>(CACHED_ROW_COUNTS))
        .computeIfAbsent(rows, size -> module.createBuffers(size, dataType));
  }

  /**
   * Groups rows by the class each holds in the one-hot {@code field} (its first largest value,
   * as ND4J's argMax), read with one bulk copy: the argMax op cost a routed step tens of
   * microseconds.
   */
  private static Routing route(INDArray field, int branches) {
    int[] classes = Kernels.argMaxRows(Kernels.rowMajor(field), (int) field.size(0));
    int[] counts = new int[branches];
    for (int c : classes) {
      if (c >= branches) {
        throw new IllegalArgumentException("route value " + c + " has no branch; the route has "
            + branches);
      }
      counts[c]++;
    }
    int[][] rowsByBranch = new int[branches][];
    for (int b = 0; b < branches; b++) {
      rowsByBranch[b] = new int[counts[b]];
    }
    int[] filled = new int[branches];
    for (int row = 0; row < classes.length; row++) {
      rowsByBranch[classes[row]][filled[classes[row]]++] = row;
    }
    return new Routing(rowsByBranch);
  }

  private static INDArray columnBlock(INDArray array, int start, int width) {
    return array.get(NDArrayIndex.all(), NDArrayIndex.interval(start, start + width));
  }
}
