package tandem.model.module;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The heap LSTM backward pass gives what ND4J's native {@code lstmLayer_bp} gives (run here only
 * for the comparison: it leaks native memory), for full-sequence and last-state gradients, with
 * and without per-example lengths.
 */
class HeapLstmTest {

  private static final int BATCH = 5;
  private static final int TIME = 6;
  private static final int IN = 3;
  private static final int HIDDEN = 4;

  private record Case(boolean lengths, boolean fullSequence, boolean lastState) {}

  @Test
  void matchesTheNativeBackwardOp() {
    for (Case c : List.of(new Case(false, true, false), new Case(false, false, true),
        new Case(true, true, false), new Case(true, false, true), new Case(true, true, true))) {
      Nd4j.getRandom().setSeed(42);
      INDArray x = Nd4j.rand(DataType.DOUBLE, BATCH, TIME, IN).subi(0.5);
      INDArray wx = Nd4j.rand(DataType.DOUBLE, IN, 4 * HIDDEN).subi(0.5);
      INDArray wr = Nd4j.rand(DataType.DOUBLE, HIDDEN, 4 * HIDDEN).subi(0.5);
      INDArray b = Nd4j.rand(DataType.DOUBLE, 4 * HIDDEN).subi(0.5);
      INDArray lengths = c.lengths()
          ? Nd4j.createFromArray(6.0, 1.0, 3.0, 6.0, 4.0) : null;
      INDArray dh = c.fullSequence() ? Nd4j.rand(DataType.DOUBLE, BATCH, TIME, HIDDEN) : null;
      INDArray dLast = c.lastState() ? Nd4j.rand(DataType.DOUBLE, BATCH, HIDDEN) : null;
      INDArray[] heap = outputs();
      INDArray[] reference = outputs();
      HeapLstm.backward(x, wx, wr, b, lengths, dh, dLast, heap[0], heap[1], heap[2],
          heap[3]);
      List<INDArray> inputs = new java.util.ArrayList<>(List.of(x, wx, wr, b));
      if (lengths != null) {
        inputs.add(lengths);
      }
      if (dh != null) {
        inputs.add(dh);
      }
      if (dLast != null) {
        inputs.add(dLast);
      }
      List<INDArray> out = new java.util.ArrayList<>(List.of(reference));
      if (lengths != null) {
        out.add(Nd4j.create(DataType.DOUBLE, BATCH));
      }
      Nd4j.exec(org.nd4j.linalg.api.ops.DynamicCustomOp.builder("lstmLayer_bp")
          .addInputs(inputs.toArray(new INDArray[0])).addOutputs(out.toArray(new INDArray[0]))
          .addIntegerArguments(1, 0, 2, 0, 0).addFloatingPointArguments(0.0)
          .addBooleanArguments(true, lengths != null, false, false, false, dh != null,
              dLast != null, false).build());
      String[] names = {"dx", "dWx", "dWr", "db"};
      for (int k = 0; k < 4; k++) {
        double difference = heap[k].sub(reference[k]).amaxNumber().doubleValue();
        double scale = Math.max(1e-12, reference[k].amaxNumber().doubleValue());
        assertTrue(difference / scale < 1e-6 && reference[k].amaxNumber().doubleValue() > 0,
            c + " " + names[k] + ": heap " + heap[k] + "\nnative " + reference[k]);
      }
    }
  }

  @Test
  void forwardMatchesTheNativeOp() {
    Nd4j.getRandom().setSeed(7);
    INDArray x = Nd4j.rand(DataType.DOUBLE, BATCH, TIME, IN).subi(0.5);
    INDArray wx = Nd4j.rand(DataType.DOUBLE, IN, 4 * HIDDEN).subi(0.5);
    INDArray wr = Nd4j.rand(DataType.DOUBLE, HIDDEN, 4 * HIDDEN).subi(0.5);
    INDArray b = Nd4j.rand(DataType.DOUBLE, 4 * HIDDEN).subi(0.5);
    for (INDArray lengths : new INDArray[] {null, Nd4j.createFromArray(6.0, 1.0, 3.0, 6.0, 4.0)}) {
      INDArray heapH = Nd4j.create(DataType.DOUBLE, BATCH, TIME, HIDDEN);
      INDArray heapLast = Nd4j.create(DataType.DOUBLE, BATCH, HIDDEN);
      INDArray nativeH = Nd4j.create(DataType.DOUBLE, BATCH, TIME, HIDDEN);
      INDArray nativeLast = Nd4j.create(DataType.DOUBLE, BATCH, HIDDEN);
      HeapLstm.forward(x, wx, wr, b, lengths, heapH, heapLast);
      List<INDArray> inputs = new java.util.ArrayList<>(List.of(x, wx, wr, b));
      if (lengths != null) {
        inputs.add(lengths);
      }
      Nd4j.exec(org.nd4j.linalg.api.ops.DynamicCustomOp.builder("lstmLayer")
          .addInputs(inputs.toArray(new INDArray[0])).addOutputs(nativeH, nativeLast)
          .addIntegerArguments(1, 0, 2, 0, 0).addFloatingPointArguments(0.0)
          .addBooleanArguments(true, lengths != null, false, false, false, true, true, false)
          .build());
      assertTrue(heapH.equalsWithEps(nativeH, 1e-9), "lengths " + lengths + ": heap " + heapH
          + "\nnative " + nativeH);
      assertTrue(heapLast.equalsWithEps(nativeLast, 1e-9), "lengths " + lengths + ": heap "
          + heapLast + "\nnative " + nativeLast);
      assertTrue(nativeLast.amaxNumber().doubleValue() > 0);
    }
  }

  @Test
  void floatArraysGiveTheSameBitsOnTheFusedAndNd4jPaths() {
    Nd4j.getRandom().setSeed(5);
    // Row-major x; column-major weights at an offset, as blocks of a flat parameter buffer are.
    INDArray x = Nd4j.rand(DataType.FLOAT, BATCH, TIME, IN).subi(0.5f);
    INDArray flat = Nd4j.rand(DataType.FLOAT, 1, 3 + IN * 4 * HIDDEN).subi(0.5f);
    INDArray wx = flat.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
        org.nd4j.linalg.indexing.NDArrayIndex.interval(3, 3 + IN * 4 * HIDDEN))
        .reshape('f', IN, 4 * HIDDEN);
    INDArray wr = Nd4j.rand(DataType.FLOAT, HIDDEN, 4 * HIDDEN).subi(0.5f).dup('f');
    INDArray b = Nd4j.rand(DataType.FLOAT, 4 * HIDDEN).subi(0.5f);
    INDArray lengths = Nd4j.createFromArray(6f, 1f, 3f, 6f, 4f);
    INDArray dh = Nd4j.rand(DataType.FLOAT, BATCH, TIME, HIDDEN).dup('f');
    INDArray dLast = Nd4j.rand(DataType.FLOAT, BATCH, HIDDEN);
    java.util.function.Supplier<List<INDArray>> run = () -> {
      INDArray h = Nd4j.create(DataType.FLOAT, BATCH, TIME, HIDDEN);
      INDArray last = Nd4j.create(DataType.FLOAT, new long[] {BATCH, HIDDEN}, 'f');
      HeapLstm.forward(x, wx, wr, b, lengths, h, last);
      INDArray dx = Nd4j.create(DataType.FLOAT, BATCH, TIME, IN);
      INDArray dwx = Nd4j.create(DataType.FLOAT, new long[] {IN, 4 * HIDDEN}, 'f');
      INDArray dwr = Nd4j.create(DataType.FLOAT, HIDDEN, 4 * HIDDEN);
      INDArray db = Nd4j.create(DataType.FLOAT, 4 * HIDDEN);
      HeapLstm.backward(x, wx, wr, b, lengths, dh, dLast, dx, dwx, dwr, db);
      return List.of(h, last, dx, dwx, dwr, db);
    };
    List<INDArray> fused = run.get();
    List<INDArray> nd4j = tandem.model.kernel.Kernels.using(
        tandem.model.kernel.Kernels.Path.ND4J, run);
    for (int k = 0; k < fused.size(); k++) {
      org.junit.jupiter.api.Assertions.assertArrayEquals(nd4j.get(k).dup('c').data().asFloat(),
          fused.get(k).dup('c').data().asFloat(), "output " + k);
      assertTrue(fused.get(k).amaxNumber().doubleValue() > 0, "output " + k);
    }
  }

  @Test
  void aBackwardPassWithTheForwardPassesRecurrenceGivesTheSameBitsAndTakesItOnce() {
    Nd4j.getRandom().setSeed(8);
    INDArray x = Nd4j.rand(DataType.FLOAT, BATCH, TIME, IN).subi(0.5f);
    INDArray wx = Nd4j.rand(DataType.FLOAT, IN, 4 * HIDDEN).subi(0.5f);
    INDArray wr = Nd4j.rand(DataType.FLOAT, HIDDEN, 4 * HIDDEN).subi(0.5f);
    INDArray b = Nd4j.rand(DataType.FLOAT, 4 * HIDDEN).subi(0.5f);
    INDArray lengths = Nd4j.createFromArray(6f, 1f, 3f, 6f, 4f);
    INDArray dLast = Nd4j.rand(DataType.FLOAT, BATCH, HIDDEN);
    HeapLstm.Memo memo = new HeapLstm.Memo();
    HeapLstm.forward(x, wx, wr, b, lengths, null, Nd4j.create(DataType.FLOAT, BATCH, HIDDEN),
        memo);
    // With the memo, again without it (taken), and with none at all: the same bits each time.
    List<List<INDArray>> runs = new java.util.ArrayList<>();
    for (HeapLstm.Memo given : java.util.Arrays.asList(memo, memo, null)) {
      INDArray dx = Nd4j.create(DataType.FLOAT, BATCH, TIME, IN);
      INDArray dwx = Nd4j.create(DataType.FLOAT, IN, 4 * HIDDEN);
      INDArray dwr = Nd4j.create(DataType.FLOAT, HIDDEN, 4 * HIDDEN);
      INDArray db = Nd4j.create(DataType.FLOAT, 4 * HIDDEN);
      HeapLstm.backward(x, wx, wr, b, lengths, null, dLast, dx, dwx, dwr, db, given);
      runs.add(List.of(dx, dwx, dwr, db));
    }
    for (int k = 0; k < 4; k++) {
      float[] expected = runs.get(2).get(k).data().asFloat();
      org.junit.jupiter.api.Assertions.assertArrayEquals(expected,
          runs.get(0).get(k).data().asFloat(), "with the memo, output " + k);
      org.junit.jupiter.api.Assertions.assertArrayEquals(expected,
          runs.get(1).get(k).data().asFloat(), "after the memo was taken, output " + k);
      assertTrue(runs.get(2).get(k).amaxNumber().doubleValue() > 0, "output " + k);
    }
  }

  private static INDArray[] outputs() {
    return new INDArray[] {Nd4j.create(DataType.DOUBLE, BATCH, TIME, IN),
        Nd4j.create(DataType.DOUBLE, IN, 4 * HIDDEN), Nd4j.create(DataType.DOUBLE, HIDDEN,
        4 * HIDDEN), Nd4j.create(DataType.DOUBLE, 4 * HIDDEN)};
  }
}
