package tandem.model.spec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.activations.IActivation;
import tandem.api.v1.DenseLayer;
import tandem.api.v1.ModuleSpec;
import tandem.model.module.Activations;
import tandem.model.module.DenseStack;
import tandem.model.module.Embedding;
import tandem.model.module.SequenceDecoder;
import tandem.model.module.SequenceEncoder;
import tandem.model.module.Module;

/**
 * Turns a job's {@link ModuleSpec}s into {@link Module}s, checking names, kinds and sizes so that
 * the module constructors never see a value they would reject. Stateless.
 */
final class ModuleSpecs {

  private static final List<String> KINDS = List.of("dense", "embedding", "windowEmbedding",
      "sequenceEncoder", "sequenceDecoder");

  private ModuleSpecs() {}

  /** The job's modules by name, in spec order. */
  static Map<String, Module> build(List<ModuleSpec> specs) throws InvalidSpecException {
    if (specs.isEmpty()) {
      throw new InvalidSpecException("modules", "expected at least one module, found none");
    }
    Map<String, Module> modules = new LinkedHashMap<>();
    for (int i = 0; i < specs.size(); i++) {
      ModuleSpec spec = specs.get(i);
      String modulePath = "modules[" + i + "]";
      if (spec.getName().isEmpty()) {
        throw new InvalidSpecException(modulePath + ".name", "expected a module name, found none");
      }
      if (modules.containsKey(spec.getName())) {
        throw new InvalidSpecException(modulePath + ".name", "duplicate module name '"
            + spec.getName() + "'; module names must be unique within the job");
      }
      Module module = switch (spec.getKindCase()) {
        case DENSE -> dense(spec.getName(), spec.getDense(), modulePath + ".dense");
        case EMBEDDING -> new Embedding(spec.getName(), List.of(
            table(spec.getEmbedding(), modulePath + ".embedding")));
        case WINDOW_EMBEDDING -> windowEmbedding(spec.getName(), spec.getWindowEmbedding(),
            modulePath + ".windowEmbedding");
        case SEQUENCE_ENCODER -> encoder(spec.getName(), spec.getSequenceEncoder(),
            modulePath + ".sequenceEncoder");
        case SEQUENCE_DECODER -> decoder(spec.getName(), spec.getSequenceDecoder(),
            modulePath + ".sequenceDecoder");
        case KIND_NOT_SET -> throw new InvalidSpecException(modulePath, "module '"
            + spec.getName() + "' has no kind; expected one of " + KINDS);
      };
      modules.put(spec.getName(), module);
    }
    return modules;
  }

  private static Module dense(String name, tandem.api.v1.DenseStack spec, String densePath)
      throws InvalidSpecException {
    if (spec.getInputSize() <= 0) {
      throw new InvalidSpecException(densePath + ".inputSize",
          "expected a positive input size, found " + spec.getInputSize());
    }
    if (spec.getLayersCount() == 0) {
      throw new InvalidSpecException(densePath + ".layers",
          "expected at least one layer, found none");
    }
    List<DenseStack.Layer> layers = new ArrayList<>();
    for (int j = 0; j < spec.getLayersCount(); j++) {
      DenseLayer layer = spec.getLayers(j);
      String layerPath = densePath + ".layers[" + j + "]";
      if (layer.getSize() <= 0) {
        throw new InvalidSpecException(layerPath + ".size",
            "expected a positive layer size, found " + layer.getSize());
      }
      IActivation activation = Activations.named(layer.getActivation())
          .orElseThrow(() -> new InvalidSpecException(layerPath + ".activation",
              "unknown activation '" + layer.getActivation() + "'; expected one of "
                  + Activations.names()));
      layers.add(new DenseStack.Layer(layer.getSize(), activation));
    }
    return new DenseStack(name, spec.getInputSize(), layers);
  }

  private static Embedding.Table table(tandem.api.v1.Embedding spec, String tablePath)
      throws InvalidSpecException {
    positive(spec.getVocabularySize(), tablePath + ".vocabularySize", "vocabulary size");
    positive(spec.getDimension(), tablePath + ".dimension", "dimension");
    if (spec.getColumns() < 0) {
      throw new InvalidSpecException(tablePath + ".columns",
          "expected a column count >= 0 (0 means 1), found " + spec.getColumns());
    }
    return new Embedding.Table(spec.getVocabularySize(), spec.getDimension(),
        Math.max(1, spec.getColumns()));
  }

  private static Module windowEmbedding(String name, tandem.api.v1.WindowEmbedding spec,
      String windowPath) throws InvalidSpecException {
    if (spec.getTablesCount() == 0) {
      throw new InvalidSpecException(windowPath + ".tables",
          "expected at least one table, found none");
    }
    List<Embedding.Table> tables = new ArrayList<>();
    for (int t = 0; t < spec.getTablesCount(); t++) {
      tables.add(table(spec.getTables(t), windowPath + ".tables[" + t + "]"));
    }
    return new Embedding(name, tables);
  }

  private static Module encoder(String name, tandem.api.v1.SequenceEncoder spec,
      String encoderPath) throws InvalidSpecException {
    positive(spec.getVocabularySize(), encoderPath + ".vocabularySize", "vocabulary size");
    positive(spec.getEmbeddingSize(), encoderPath + ".embeddingSize", "embedding size");
    positive(spec.getHiddenSize(), encoderPath + ".hiddenSize", "hidden size");
    positive(spec.getMaxLength(), encoderPath + ".maxLength", "maximum length");
    return new SequenceEncoder(name, spec.getVocabularySize(), spec.getEmbeddingSize(),
        spec.getHiddenSize(), spec.getMaxLength());
  }

  private static Module decoder(String name, tandem.api.v1.SequenceDecoder spec,
      String decoderPath) throws InvalidSpecException {
    positive(spec.getInputSize(), decoderPath + ".inputSize", "input size");
    positive(spec.getHiddenSize(), decoderPath + ".hiddenSize", "hidden size");
    positive(spec.getVocabularySize(), decoderPath + ".vocabularySize", "vocabulary size");
    positive(spec.getMaxLength(), decoderPath + ".maxLength", "maximum length");
    return new SequenceDecoder(name, spec.getInputSize(), spec.getHiddenSize(),
        spec.getVocabularySize(), spec.getMaxLength());
  }

  private static void positive(int value, String field, String what)
      throws InvalidSpecException {
    if (value <= 0) {
      throw new InvalidSpecException(field, "expected a positive " + what + ", found " + value);
    }
  }
}
