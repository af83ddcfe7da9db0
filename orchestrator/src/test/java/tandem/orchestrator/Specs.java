package tandem.orchestrator;

import com.google.protobuf.util.JsonFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import tandem.api.v1.JobSpec;

/** Job specs for the orchestrator's tests, read from the repository's examples. */
public final class Specs {

  private Specs() {}

  /** {@code examples/NAME.json}, found by walking up from the working directory. */
  public static JobSpec example(String name) {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isRegularFile(dir.resolve("examples").resolve(name + ".json"))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new IllegalStateException("examples/" + name + ".json not found above the working directory");
    }
    try {
      JobSpec.Builder spec = JobSpec.newBuilder();
      JsonFormat.parser().merge(Files.readString(dir.resolve("examples").resolve(name + ".json")), spec);
      return spec.build();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
