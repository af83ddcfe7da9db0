package tandem.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import tandem.api.v1.ConllData;
import tandem.api.v1.DataSpec;
import tandem.api.v1.DenseLayer;
import tandem.api.v1.DenseStack;
import tandem.api.v1.Embedding;
import tandem.api.v1.JobSpec;
import tandem.api.v1.ModuleSpec;
import tandem.api.v1.OptimizerSpec;
import tandem.api.v1.OutputSpec;
import tandem.api.v1.StopCondition;
import tandem.api.v1.TaskSpec;
import tandem.api.v1.WindowEmbedding;
import tandem.model.data.ClassField;
import tandem.model.data.ConllReader;
import tandem.model.data.DataSet;
import tandem.model.eval.ChunkDecoding;
import tandem.model.eval.ChunkScore;
import tandem.model.eval.ChunkScorer;
import tandem.model.spec.InvalidSpecException;
import tandem.model.spec.JobSpecCompiler;
import tandem.model.spec.TrainingPlan;

/** The {@code chunk_f1} metric of a joint POS and chunk output, from spec to evaluation. */
class ChunkMetricTest {

  @TempDir
  static Path dir;

  @BeforeAll
  static void writeData() throws Exception {
    StringBuilder text = new StringBuilder();
    String[][] sentences = {
        {"The DT B-NP", "dog NN I-NP", "barks VBZ B-VP", ". . O"},
        {"A DT B-NP", "cat NN I-NP", "sleeps VBZ B-VP", "in IN B-PP", "the DT B-NP",
            "sun NN I-NP"},
        {"Dogs NNS B-NP", "run VBP B-VP"}};
    for (int copy = 0; copy < 4; copy++) {
      for (String[] sentence : sentences) {
        text.append(String.join("\n", sentence)).append("\n\n");
      }
    }
    Files.writeString(dir.resolve("train.txt"), text);
  }

  private static JobSpec.Builder spec(String chunkMetric) {
    DataSpec data = DataSpec.newBuilder().setConll(ConllData.newBuilder()
        .setPath(dir.resolve("train.txt").toString()).setRadius(1).addSuffixLengths(2)).build();
    return JobSpec.newBuilder()
        .addModules(ModuleSpec.newBuilder().setName("window").setWindowEmbedding(
            WindowEmbedding.newBuilder()
                .addTables(Embedding.newBuilder().setVocabularySize(20).setDimension(4).setColumns(3))
                .addTables(Embedding.newBuilder().setVocabularySize(5).setDimension(2).setColumns(3))
                .addTables(Embedding.newBuilder().setVocabularySize(20).setDimension(2).setColumns(3))))
        .addModules(dense("hidden", 24, 16, "tanh"))
        .addModules(dense("pos_head", 16, 7, "identity"))
        .addModules(dense("chunk_head", 16, 7, "identity"))
        .addTasks(TaskSpec.newBuilder().setName("joint").setData(data).setInput("window")
            .addPath("window").addPath("hidden").setBatchSize(8)
            .addOutputs(OutputSpec.newBuilder().setName("pos").addModules("pos_head")
                .setLoss("softmax_cross_entropy").setLabel("pos"))
            .addOutputs(OutputSpec.newBuilder().setName("chunk").addModules("chunk_head")
                .setLoss("softmax_cross_entropy").setLabel("chunk").setMetric(chunkMetric)))
        .setOptimizer(OptimizerSpec.newBuilder().setName("adam").setLearningRate(0.01))
        .setStop(StopCondition.newBuilder().setMaxSteps(100)).setSeed(3);
  }

  private static ModuleSpec dense(String name, int in, int out, String activation) {
    return ModuleSpec.newBuilder().setName(name).setDense(DenseStack.newBuilder().setInputSize(in)
        .addLayers(DenseLayer.newBuilder().setSize(out).setActivation(activation))).build();
  }

  @Test
  void chunkF1IsScoredOnTheWholeDataSetWithItsSentencesAndLearnable() throws Exception {
    TrainingPlan plan = JobSpecCompiler.compile(spec(ChunkScorer.METRIC).build());
    assertEquals(ChunkScorer.METRIC, plan.graph().task("joint").outputs().get(1).metric());
    assertEquals("accuracy", plan.graph().task("joint").outputs().get(0).metric());
    SequentialTraining training = new SequentialTraining(plan, DataType.FLOAT);
    for (int step = 0; step < 150; step++) {
      training.step("joint");
    }
    Map<String, Double> metrics = training.evaluate("joint");
    DataSet data = plan.evaluationData().get("joint");
    TaskProgram program = new TaskProgram(plan.graph().task("joint"), DataType.FLOAT);
    int[] predicted = program.predictClasses(training.parameters(), data, "chunk");
    ChunkScore expected = new ChunkScorer(data.vocabularies().get(ConllReader.CHUNK).tokens())
        .score(((ClassField) data.field("chunk")).ids(), predicted, data.sentenceStarts());
    assertEquals(expected, program.chunkScore(training.parameters(), data, "chunk",
        ChunkDecoding.GREEDY));
    assertEquals(program.chunkScore(training.parameters(), data, "chunk", ChunkDecoding.VITERBI)
        .f1(), metrics.get("chunk"), 1e-12);
    // The three sentences four times over: 2 + 4 + 2 chunks each time.
    assertEquals(32, expected.gold());
    // Twelve short sentences repeated: a trained tagger gets them all.
    assertEquals(1.0, metrics.get("chunk"), 1e-12);
    assertEquals(1.0, metrics.get("pos"), 1e-12);
  }

  @Test
  void refusesChunkF1OnLabelsThatAreNotChunkTagsAndUnknownMetrics() {
    JobSpec.Builder onPos = spec("");
    onPos.getTasksBuilder(0).getOutputsBuilder(0).setMetric(ChunkScorer.METRIC);
    InvalidSpecException notChunks = assertThrows(InvalidSpecException.class,
        () -> JobSpecCompiler.compile(onPos.build()));
    assertEquals("tasks[0].outputs[0].metric", notChunks.field());
    assertTrue(notChunks.getMessage().contains("IOB2"), notChunks.getMessage());
    InvalidSpecException unknown = assertThrows(InvalidSpecException.class,
        () -> JobSpecCompiler.compile(spec("f1").build()));
    assertEquals("tasks[0].outputs[1].metric", unknown.field());
    assertTrue(unknown.getMessage().contains("unknown metric 'f1'"), unknown.getMessage());
  }
}
