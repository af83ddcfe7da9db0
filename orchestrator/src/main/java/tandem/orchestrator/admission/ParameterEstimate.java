package tandem.orchestrator.admission;

import tandem.api.v1.DenseStack;
import tandem.api.v1.Embedding;
import tandem.api.v1.ModuleSpec;

/**
 * The number of parameters a module spec asks for, computed from its sizes before anything is
 * allocated (a 30,000 x 30,000 layer must be refused, not tried). Counts saturate at
 * {@link Long#MAX_VALUE} instead of overflowing; sizes the compiler would refuse (0 or
 * negative) count as 0 here and are refused there. Stateless.
 */
final class ParameterEstimate {

  private ParameterEstimate() {}

  static long of(ModuleSpec module) {
    return switch (module.getKindCase()) {
      case DENSE -> dense(module.getDense());
      case EMBEDDING -> embedding(module.getEmbedding());
      case WINDOW_EMBEDDING -> module.getWindowEmbedding().getTablesList().stream()
          .mapToLong(ParameterEstimate::embedding).reduce(0, ParameterEstimate::add);
      case SEQUENCE_ENCODER -> add(times(module.getSequenceEncoder().getVocabularySize(),
          module.getSequenceEncoder().getEmbeddingSize()), lstm(
          module.getSequenceEncoder().getEmbeddingSize(),
          module.getSequenceEncoder().getHiddenSize()));
      case SEQUENCE_DECODER -> add(add(lstm(module.getSequenceDecoder().getInputSize()
              + (long) Math.max(0, module.getSequenceDecoder().getVocabularySize()),
          module.getSequenceDecoder().getHiddenSize()), times(
          module.getSequenceDecoder().getHiddenSize(),
          module.getSequenceDecoder().getVocabularySize())),
          module.getSequenceDecoder().getVocabularySize());
      case KIND_NOT_SET -> 0;
    };
  }

  /** The widest layer of a module: what a batch row costs in its work buffers. */
  static long width(ModuleSpec module) {
    return switch (module.getKindCase()) {
      case DENSE -> module.getDense().getLayersList().stream()
          .mapToLong(l -> Math.max(0, l.getSize()))
          .reduce(Math.max(0, module.getDense().getInputSize()), Math::max);
      case EMBEDDING -> times(module.getEmbedding().getDimension(),
          Math.max(1, module.getEmbedding().getColumns()));
      case WINDOW_EMBEDDING -> module.getWindowEmbedding().getTablesList().stream()
          .mapToLong(e -> times(e.getDimension(), Math.max(1, e.getColumns())))
          .reduce(0, ParameterEstimate::add);
      case SEQUENCE_ENCODER -> times(4 * (long) Math.max(0,
          module.getSequenceEncoder().getHiddenSize()),
          Math.max(1, module.getSequenceEncoder().getMaxLength()));
      case SEQUENCE_DECODER -> times(Math.max(0, module.getSequenceDecoder().getVocabularySize())
          + 4L * Math.max(0, module.getSequenceDecoder().getHiddenSize()),
          Math.max(1, module.getSequenceDecoder().getMaxLength()));
      case KIND_NOT_SET -> 0;
    };
  }

  private static long dense(DenseStack dense) {
    long total = 0;
    long in = Math.max(0, dense.getInputSize());
    for (var layer : dense.getLayersList()) {
      long out = Math.max(0, layer.getSize());
      total = add(total, add(times(in, out), out));
      in = out;
    }
    return total;
  }

  private static long embedding(Embedding embedding) {
    return times(embedding.getVocabularySize(), embedding.getDimension());
  }

  /** An LSTM layer: four gates, each with input and recurrent weights and a bias. */
  private static long lstm(long input, long hidden) {
    return times(4, add(times(Math.max(0, hidden), add(Math.max(0, input), Math.max(0, hidden))),
        Math.max(0, hidden)));
  }

  static long times(long a, long b) {
    if (a <= 0 || b <= 0) {
      return 0;
    }
    try {
      return Math.multiplyExact(a, b);
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  static long add(long a, long b) {
    long sum = a + b;
    return sum < 0 ? Long.MAX_VALUE : sum;
  }
}
