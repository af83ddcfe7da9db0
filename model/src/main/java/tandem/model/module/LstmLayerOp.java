package tandem.model.module;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * ND4J's {@code lstmLayer} op and its backprop op {@code lstmLayer_bp} (libnd4j), for one
 * forward-direction layer in batch-major layout ({@code [batch, time, features]}), sigmoid gates
 * and tanh cell and output activations, no peepholes, zero initial state. Gate blocks in the
 * weights follow libnd4j: input, forget, cell, output. With sequence lengths the op stops each
 * example at its own length: outputs past it are zero and the last state is the one at the
 * length. Stateless.
 */
final class LstmLayerOp {

  /** libnd4j lstmLayer data format 1: [batch, time, features]. */
  private static final int BATCH_TIME_FEATURES = 1;
  private static final int FORWARD = 0;
  private static final int SIGMOID = 2;
  private static final int TANH = 0;
  private static final double NO_CELL_CLIP = 0.0;

  private LstmLayerOp() {}

  /**
   * Runs the layer on {@code x} ({@code [batch, time, in]}) with weights {@code wx}
   * ({@code [in, 4h]}), {@code wr} ({@code [h, 4h]}) and bias {@code b} ({@code [4h]}); writes the
   * full output sequence into {@code h} ({@code [batch, time, h]}) and/or the last state into
   * {@code lastH} ({@code [batch, h]}), whichever is non-null. {@code lengths} ({@code [batch]},
   * x's data type) may be null: every example runs the whole time axis.
   */
  static void forward(INDArray x, INDArray wx, INDArray wr, INDArray b, INDArray lengths,
      INDArray h, INDArray lastH) {
    forward(x, wx, wr, b, lengths, h, lastH, null);
  }

  /**
   * The same; with a {@code memo} the pass runs on the heap (unless {@link #NATIVE_ONLY}) and
   * keeps its recurrence there for {@link #backward} with the same memo.
   */
  static void forward(INDArray x, INDArray wx, INDArray wr, INDArray b, INDArray lengths,
      INDArray h, INDArray lastH, HeapLstm.Memo memo) {
    if ((lengths != null || lastH != null || memo != null) && !NATIVE_ONLY) {
      // The native op leaks on this path (HeapLstm), or the recurrence is kept.
      HeapLstm.forward(x, wx, wr, b, lengths, h, lastH, memo);
      return;
    }
    List<INDArray> inputs = new ArrayList<>(List.of(x, wx, wr, b));
    if (lengths != null) {
      inputs.add(lengths);
    }
    List<INDArray> outputs = new ArrayList<>();
    if (h != null) {
      outputs.add(h);
    }
    if (lastH != null) {
      outputs.add(lastH);
    }
    Nd4j.exec(op("lstmLayer", inputs, outputs, lengths != null, h != null, lastH != null));
  }

  /**
   * Back-propagates {@code dh} (dLoss/dOutputSequence, or null) and {@code dLastH}
   * (dLoss/dLastState, or null) through the layer run by {@link #forward} with the same
   * arguments; <em>overwrites</em> {@code dx}, {@code dwx}, {@code dwr} and {@code db}.
   */
  static void backward(INDArray x, INDArray wx, INDArray wr, INDArray b, INDArray lengths,
      INDArray dh, INDArray dLastH, INDArray dx, INDArray dwx, INDArray dwr, INDArray db,
      INDArray dLengths) {
    backward(x, wx, wr, b, lengths, dh, dLastH, dx, dwx, dwr, db, dLengths, null);
  }

  /** The same, with the recurrence {@code memo} the forward pass kept, if any. */
  static void backward(INDArray x, INDArray wx, INDArray wr, INDArray b, INDArray lengths,
      INDArray dh, INDArray dLastH, INDArray dx, INDArray dwx, INDArray dwr, INDArray db,
      INDArray dLengths, HeapLstm.Memo memo) {
    List<INDArray> inputs = new ArrayList<>(List.of(x, wx, wr, b));
    if (lengths != null) {
      inputs.add(lengths);
    }
    if (dh != null) {
      inputs.add(dh);
    }
    if (dLastH != null) {
      inputs.add(dLastH);
    }
    if (!NATIVE_ONLY) {
      HeapLstm.backward(x, wx, wr, b, lengths, dh, dLastH, dx, dwx, dwr, db, memo);
      if (dLengths != null) {
        dLengths.assign(0);
      }
      return;
    }
    List<INDArray> outputs = new ArrayList<>(List.of(dx, dwx, dwr, db));
    if (lengths != null) {
      outputs.add(dLengths);
    }
    Nd4j.exec(op("lstmLayer_bp", inputs, outputs, lengths != null, dh != null, dLastH != null));
  }

  /**
   * Whether every pass runs ND4J's native ops, including those that leak native memory
   * ({@link HeapLstm}); {@code -Dtandem.lstm.native-only=true}, for comparisons only.
   */
  static final boolean NATIVE_ONLY = Boolean.getBoolean("tandem.lstm.native-only");

  private static DynamicCustomOp op(String name, List<INDArray> inputs, List<INDArray> outputs,
      boolean hasLengths, boolean fullSequence, boolean lastState) {
    return DynamicCustomOp.builder(name)
        .addInputs(inputs.toArray(new INDArray[0]))
        .addOutputs(outputs.toArray(new INDArray[0]))
        .addIntegerArguments(BATCH_TIME_FEATURES, FORWARD, SIGMOID, TANH, TANH)
        .addFloatingPointArguments(NO_CELL_CLIP)
        // hasBiases, hasSeqLen, hasInitH, hasInitC, hasPH, retFullSeq, retLastH, retLastC
        .addBooleanArguments(true, hasLengths, false, false, false, fullSequence, lastState, false)
        .build();
  }
}
