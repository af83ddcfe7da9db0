package tandem.bench.peers;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.model.kernel.Kernels;
import tandem.model.module.DenseStack;
import tandem.model.module.Module;
import tandem.model.spec.OutputGraph;
import tandem.model.spec.TaskGraph;

/**
 * The matrix products of one training step of a task, and how long {@code cblas_sgemm} takes for
 * exactly those products on this machine: the step's roofline. Per dense layer of batch B, input
 * I and output O: the forward product (B x I by I x O), the weight gradient (I x B by B x O) and,
 * unless the layer reads data, the input gradient (B x O by O x I). A step that ran at the
 * roofline would spend all its time in these calls; achieved / roofline = their time / step time.
 */
final class GemmRoofline {

  /** One product {@code [m, k] x [k, n]}, with its operands' transposition as the step has it. */
  record Product(int m, int n, int k, boolean transposeA, boolean transposeB) {
    double flops() {
      return 2.0 * m * n * k;
    }
  }

  private final List<Product> products;

  private GemmRoofline(List<Product> products) {
    this.products = products;
  }

  /** The products of one step of {@code task} (a plain path of modules, dense ones counted). */
  static GemmRoofline of(TaskGraph task) {
    List<Product> products = new ArrayList<>();
    int batch = task.batchSize();
    boolean readsData = true;
    for (Module module : task.path()) {
      readsData = add(products, module, batch, readsData);
    }
    for (OutputGraph output : task.outputs()) {
      boolean outputReadsData = task.path().isEmpty();
      for (Module module : output.modules()) {
        outputReadsData = add(products, module, batch, outputReadsData);
      }
    }
    return new GemmRoofline(products);
  }

  /** Adds {@code module}'s products; returns whether the next module reads data (never). */
  private static boolean add(List<Product> products, Module module, int batch,
      boolean readsData) {
    if (!(module instanceof DenseStack dense)) {
      // Embeddings: row copies, no products. Their output is a gradient path for later modules.
      return false;
    }
    int in = dense.inputSize();
    for (int i = 0; i < dense.layers().size(); i++) {
      int out = dense.layers().get(i).size();
      products.add(new Product(batch, out, in, false, false));
      products.add(new Product(in, out, batch, true, false));
      if (!(i == 0 && readsData)) {
        products.add(new Product(batch, in, out, false, true));
      }
      in = out;
    }
    return false;
  }

  double flops() {
    return products.stream().mapToDouble(Product::flops).sum();
  }

  /**
   * Seconds per step that {@code cblas_sgemm} alone takes for these products: the median of
   * {@code rounds} timings of {@code steps} steps' worth of calls on column-major buffers.
   */
  double gemmSecondsPerStep(int rounds, int steps) {
    List<INDArray[]> operands = new ArrayList<>();
    for (Product p : products) {
      INDArray a = Nd4j.rand(DataType.FLOAT, p.transposeA() ? p.k() : p.m(),
          p.transposeA() ? p.m() : p.k()).dup('f');
      INDArray b = Nd4j.rand(DataType.FLOAT, p.transposeB() ? p.n() : p.k(),
          p.transposeB() ? p.k() : p.n()).dup('f');
      INDArray c = Nd4j.create(DataType.FLOAT, new long[] {p.m(), p.n()}, 'f');
      operands.add(new INDArray[] {a, b, c});
    }
    double[] seconds = new double[rounds];
    for (int round = -1; round < rounds; round++) {
      long start = System.nanoTime();
      for (int s = 0; s < steps; s++) {
        for (int i = 0; i < products.size(); i++) {
          Product p = products.get(i);
          INDArray[] o = operands.get(i);
          Kernels.gemm(o[0], p.transposeA(), o[1], p.transposeB(), o[2], 1f, 0f);
        }
      }
      if (round >= 0) {
        seconds[round] = (System.nanoTime() - start) / 1e9 / steps;
      }
    }
    java.util.Arrays.sort(seconds);
    return seconds[rounds / 2];
  }
}
