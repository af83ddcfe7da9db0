package tandem.client;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import tandem.api.v1.JobSpec;

/**
 * Reads and writes job specs as JSON in Protobuf's JSON mapping (lowerCamelCase field names), the
 * form the command line, Python stubs and grpcurl share. Unknown fields are errors rather than
 * being skipped, so a misspelt option cannot silently fall back to its default.
 *
 * <p>Stateless and thread-safe.
 */
public final class JobSpecs {

  private JobSpecs() {}

  /** Parses the spec in {@code file}; the exception names the file and what is wrong with it. */
  public static JobSpec read(Path file) throws JobSpecException {
    String json;
    try {
      json = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new JobSpecException("cannot read job spec " + file + ": no such file");
    } catch (IOException e) {
      throw new JobSpecException("cannot read job spec " + file + ": " + e.getMessage());
    }
    return parse(json, file.toString());
  }

  /** Parses a spec bundled on the classpath, e.g. {@code /tandem/examples/arithmetic.json}. */
  public static JobSpec readResource(String resource) throws JobSpecException {
    try (InputStream in = JobSpecs.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new JobSpecException("cannot read job spec " + resource + ": not on the classpath");
      }
      return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "classpath:" + resource);
    } catch (IOException e) {
      throw new JobSpecException("cannot read job spec " + resource + ": " + e.getMessage());
    }
  }

  /** Parses {@code json}; {@code source} names where it came from in error messages. */
  public static JobSpec parse(String json, String source) throws JobSpecException {
    JobSpec.Builder spec = JobSpec.newBuilder();
    try {
      // The default parser rejects unknown fields; ignoringUnknownFields() is deliberately not used.
      JsonFormat.parser().merge(json, spec);
    } catch (InvalidProtocolBufferException e) {
      throw new JobSpecException("invalid job spec " + source + ": " + e.getMessage());
    } catch (RuntimeException e) {
      // JsonFormat lets some malformed-JSON errors escape as unchecked exceptions.
      throw new JobSpecException("invalid job spec " + source + ": " + e.getMessage());
    }
    return spec.build();
  }

  /** The spec as indented JSON, in the same mapping {@link #parse} reads. */
  public static String toJson(JobSpec spec) {
    try {
      return JsonFormat.printer().print(spec);
    } catch (InvalidProtocolBufferException e) {
      // Only Any fields with unknown types fail to print, and JobSpec has none.
      throw new IllegalStateException("cannot print job spec", e);
    }
  }
}
