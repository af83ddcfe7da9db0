package tandem.orchestrator.admission;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import tandem.api.v1.DataSpec;
import tandem.api.v1.JobSpec;
import tandem.api.v1.TaskSpec;
import tandem.model.spec.InvalidSpecException;

/**
 * The directories a job's data files must lie under ({@code tandem.orchestrator.data-roots},
 * {@code --data-root}): a spec's CSV, text-pair and CoNLL paths resolve against the server's
 * working directory as before, and the file they reach, symbolic links followed, must be a
 * regular file under one of the roots. Absolute paths elsewhere and {@code ..} escapes are
 * refused naming the field and the roots, before anything is opened, so that a client can
 * neither read the server's files nor probe for them; only regular files, so that a FIFO cannot
 * hang the compile thread and a device cannot feed it forever. Immutable.
 */
public final class DataRoots {

  private final Path base;
  private final List<Path> roots;

  /**
   * @param base where relative data paths start (the server's working directory)
   * @param roots directories data may come from; relative ones are against {@code base}
   */
  public DataRoots(Path base, List<Path> roots) {
    this.base = base.toAbsolutePath().normalize();
    List<Path> real = new ArrayList<>();
    for (Path root : roots) {
      Path absolute = this.base.resolve(root).normalize();
      try {
        real.add(absolute.toRealPath());
      } catch (IOException e) {
        real.add(absolute); // not there (yet): nothing under it can be read anyway
      }
    }
    this.roots = List.copyOf(real);
  }

  public List<Path> roots() {
    return roots;
  }

  /** Refuses the first data path of {@code spec} that is not a regular file under the roots. */
  public void check(JobSpec spec) throws InvalidSpecException {
    for (int i = 0; i < spec.getTasksCount(); i++) {
      checkTask(spec.getTasks(i), "tasks[" + i + "]");
    }
  }

  /** Refuses a data path of {@code task}, whose fields are named under {@code taskField}. */
  public void checkTask(TaskSpec task, String taskField) throws InvalidSpecException {
    if (task.hasData()) {
      checkData(task.getData(), taskField + ".data");
    }
    if (task.hasEvalData()) {
      checkData(task.getEvalData(), taskField + ".evalData");
    }
  }

  private void checkData(DataSpec data, String field) throws InvalidSpecException {
    switch (data.getSourceCase()) {
      case CSV -> checkFile(data.getCsv().getPath(), field + ".csv.path");
      case TEXT_PAIRS -> checkFile(data.getTextPairs().getPath(), field + ".textPairs.path");
      case CONLL -> checkFile(data.getConll().getPath(), field + ".conll.path");
      default -> { }
    }
  }

  private void checkFile(String value, String field) throws InvalidSpecException {
    if (value.isEmpty()) {
      return; // the compiler names the missing path
    }
    if (value.indexOf('\0') >= 0) {
      throw new InvalidSpecException(field, "expected a file path, found a NUL character");
    }
    Path path;
    try {
      path = base.resolve(value).normalize();
    } catch (java.nio.file.InvalidPathException e) {
      throw new InvalidSpecException(field, "not a valid file path");
    }
    if (!under(path)) {
      throw outside(field);
    }
    if (!Files.exists(path)) {
      return; // the compiler reports a missing file, naming it
    }
    Path real;
    try {
      real = path.toRealPath();
    } catch (IOException e) {
      throw new InvalidSpecException(field, "cannot resolve the data file's path");
    }
    if (!under(real)) {
      throw outside(field); // a link out of the roots
    }
    if (!Files.isRegularFile(real)) {
      throw new InvalidSpecException(field, "expected a regular data file; "
          + base.relativize(path) + " is a directory, device, FIFO or other special file");
    }
  }

  private boolean under(Path path) {
    return roots.stream().anyMatch(path::startsWith);
  }

  private InvalidSpecException outside(String field) {
    return new InvalidSpecException(field, "outside the data roots " + roots
        + ": data files must lie under one of them (tandem.orchestrator.data-roots, "
        + "--data-root)");
  }
}
