package tandem.model.module;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import tandem.model.GradientCheck;

/** Gradient checks and masking of the LSTM sequence encoder and decoder (ND4J's lstmLayer). */
class RecurrentModulesTest {

  @Test
  void encoderGradientMatchesNumericalWithVariableLengths() {
    SequenceEncoder encoder = new SequenceEncoder("enc", 6, 3, 4, 5);
    INDArray params = Nd4j.create(DataType.DOUBLE, encoder.parameterCount());
    encoder.initializeInPlace(params, 11);
    params.addi(Nd4j.rand(DataType.DOUBLE, params.length()).subi(0.5).muli(0.2));
    // Lengths 5, 2 and 3 (0 pads at the end), with repeated tokens.
    INDArray ids = Nd4j.createFromArray(new double[][] {{1, 2, 3, 2, 5}, {4, 4, 0, 0, 0},
        {5, 1, 1, 0, 0}});
    INDArray weights = Nd4j.rand(DataType.DOUBLE, 3, 4).subi(0.5);
    Module.Buffers buffers = encoder.createBuffers(3, DataType.DOUBLE);
    encoder.forward(params, ids, buffers);
    INDArray gradient = Nd4j.zeros(DataType.DOUBLE, encoder.parameterCount());
    assertNull(encoder.backward(params, weights, buffers, gradient, false));
    GradientCheck.assertGradient("encoder", params, gradient, () -> encoder.forward(params, ids,
        encoder.createBuffers(3, DataType.DOUBLE)).mul(weights).sumNumber().doubleValue(), 1e-5);
  }

  @Test
  void encoderCodeIgnoresPadding() {
    // Parameters do not depend on the maximum length, so one buffer serves both encoders.
    SequenceEncoder wide = new SequenceEncoder("enc", 6, 3, 4, 5);
    SequenceEncoder narrow = new SequenceEncoder("enc", 6, 3, 4, 2);
    INDArray params = Nd4j.create(DataType.DOUBLE, wide.parameterCount());
    wide.initializeInPlace(params, 3);
    INDArray padded = wide.forward(params, Nd4j.createFromArray(new double[][] {{4, 2, 0, 0, 0}}),
        wide.createBuffers(1, DataType.DOUBLE));
    INDArray exact = narrow.forward(params, Nd4j.createFromArray(new double[][] {{4, 2}}),
        narrow.createBuffers(1, DataType.DOUBLE));
    assertArrayEquals(exact.data().asDouble(), padded.data().asDouble(), 1e-12);
  }

  @Test
  void decoderGradientMatchesNumerical() {
    SequenceDecoder decoder = new SequenceDecoder("dec", 3, 4, 5, 3);
    assertEquals(15, decoder.outputSize());
    INDArray params = Nd4j.create(DataType.DOUBLE, decoder.parameterCount());
    decoder.initializeInPlace(params, 13);
    params.addi(Nd4j.rand(DataType.DOUBLE, params.length()).subi(0.5).muli(0.2));
    INDArray code = Nd4j.rand(DataType.DOUBLE, 2, 3).subi(0.5);
    INDArray weights = Nd4j.rand(DataType.DOUBLE, 2, 15).subi(0.5);
    Module.Buffers buffers = decoder.createBuffers(2, DataType.DOUBLE);
    decoder.forward(params, code, buffers);
    INDArray gradient = Nd4j.zeros(DataType.DOUBLE, decoder.parameterCount());
    INDArray codeGradient = decoder.backward(params, weights, buffers, gradient, true).dup();
    java.util.function.DoubleSupplier loss = () -> decoder.forward(params, code,
        decoder.createBuffers(2, DataType.DOUBLE)).mul(weights).sumNumber().doubleValue();
    GradientCheck.assertGradient("decoder", params, gradient, loss, 1e-5);
    GradientCheck.assertGradient("code", code, codeGradient, loss, 1e-5);
  }
}
