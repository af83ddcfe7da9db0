package tandem.model.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import tandem.model.spec.InvalidSpecException;

/** Opens the text data files a spec names, with errors naming the spec field. Stateless. */
final class TextFiles {

  private TextFiles() {}

  /** The file {@code path} names, resolved against {@code baseDir}, checked to be readable. */
  static Path resolve(String path, Path baseDir, String pathField) throws InvalidSpecException {
    if (path.isEmpty()) {
      throw new InvalidSpecException(pathField, "expected the path of a data file, found none");
    }
    Path file = baseDir.resolve(path).toAbsolutePath().normalize();
    if (!Files.exists(file)) {
      throw new InvalidSpecException(pathField, "data file not found: " + file);
    }
    if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
      throw new InvalidSpecException(pathField, "cannot read data file " + file
          + (Files.isDirectory(file) ? ": it is a directory" : ": not a readable file"));
    }
    return file;
  }

  /** Every line of {@code file}; malformed bytes are replaced rather than failing the file. */
  static List<String> lines(Path file, String pathField) throws InvalidSpecException {
    List<String> lines = new ArrayList<>();
    try (BufferedReader reader = new BufferedReader(
        new InputStreamReader(Files.newInputStream(file), StandardCharsets.UTF_8))) {
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        lines.add(line);
      }
    } catch (IOException e) {
      throw new InvalidSpecException(pathField, "cannot read data file " + file + ": " + e);
    }
    return lines;
  }
}
