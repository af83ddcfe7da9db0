package tandem.orchestrator.admission;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import tandem.api.v1.DenseLayer;
import tandem.api.v1.DenseStack;
import tandem.api.v1.JobSpec;
import tandem.api.v1.ModuleSpec;

/**
 * A job whose parameters cannot fit in one cluster frame is refused at submit when the server
 * has cluster workers (Artery drops larger frames silently: the job hung at its first trunk
 * version); an embedded-only server has no such limit.
 */
class FrameLimitTest {

  private static final long FRAME = 32L << 20;

  /** One dense module of 3,000 x 3,000 (9M parameters, 36 MB as floats). */
  private static JobSpec nineMillionParameters() {
    return JobSpec.newBuilder().setName("big").addModules(ModuleSpec.newBuilder()
        .setName("trunk").setDense(DenseStack.newBuilder().setInputSize(3000)
            .addLayers(DenseLayer.newBuilder().setSize(2999).setActivation("relu"))))
        .build();
  }

  private static JobAdmission admission(long frameBytes) {
    return new JobAdmission(LimitSettings.create(ConfigFactory.load()),
        new DataRoots(Path.of(""), List.of(Path.of("."))), frameBytes);
  }

  @Test
  void aJobLargerThanAClusterFrameIsRefusedNamingTheLimit() {
    LimitExceededException refused = assertThrows(LimitExceededException.class,
        () -> admission(FRAME).check(nineMillionParameters()));
    assertEquals("modules", refused.field());
    assertTrue(refused.getMessage().contains("pekko.remote.artery.advanced.maximum-frame-size"),
        refused.getMessage());
    assertTrue(refused.getMessage().contains("a frame of 33554432 bytes"), refused.getMessage());
  }

  @Test
  void withoutClusterWorkersTheSameJobIsAdmitted() {
    assertDoesNotThrow(() -> admission(0).check(nineMillionParameters()));
  }

  @Test
  void aJobThatFitsInAFrameIsAdmitted() {
    JobSpec small = nineMillionParameters().toBuilder().setModules(0, ModuleSpec.newBuilder()
        .setName("trunk").setDense(DenseStack.newBuilder().setInputSize(1000)
            .addLayers(DenseLayer.newBuilder().setSize(1000).setActivation("relu")))).build();
    assertDoesNotThrow(() -> admission(FRAME).check(small));
  }
}
