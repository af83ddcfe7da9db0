package tandem.bench.peers;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** PyTorch's side of {@link PeersBench}: {@code bench/peers.py} in a child process. Stateless. */
final class PytorchPeer {

  /**
   * One run's figures.
   *
   * @param version PyTorch's version and BLAS
   */
  record Result(double examplesPerSecond, double threads, String version) {}

  /**
   * Timed runs per call, after one warm-up; the call's figure is the fastest. On these shared
   * machines PyTorch's single runs dropped by up to 40% now and then (126,000-227,000 two-head
   * examples/s within one bench run, with the bench's JVM idle meanwhile), which flattered
   * Tandem's ratio; the best of three is the conservative figure for PyTorch.
   */
  static final int TIMINGS = 3;

  private PytorchPeer() {}

  /** Whether PyTorch can run; null if so, else why not and how to install it. */
  static String check(String python) {
    try {
      Process process = new ProcessBuilder(python, "-c", "import torch")
          .redirectErrorStream(true).start();
      String output = new String(process.getInputStream().readAllBytes(),
          StandardCharsets.UTF_8);
      if (!process.waitFor(120, TimeUnit.SECONDS) || process.exitValue() != 0) {
        return "PyTorch skipped: " + python + " cannot import torch (" + output.strip()
            + "); install it with: apt-get install python3-torch libopenblas0-serial";
      }
      return null;
    } catch (IOException | InterruptedException e) {
      return "PyTorch skipped: cannot run " + python + " (" + e.getMessage()
          + "); install it with: apt-get install python3 python3-torch libopenblas0-serial";
    }
  }

  /**
   * Runs {@code workload} on one thread: a warm-up, then {@link #TIMINGS} timed runs of
   * {@code steps} steps; the figure is the fastest of them.
   */
  static Result run(String python, Path baseDir, String workload, int steps) {
    try {
      ProcessBuilder builder = new ProcessBuilder(List.of(python,
          baseDir.resolve("bench/peers.py").toString(), workload, "--steps",
          String.valueOf(steps), "--warmup", String.valueOf(Math.min(200, steps)),
          "--repeats", String.valueOf(TIMINGS),
          "--conll-train", baseDir.resolve("../shared/data/conll2000/train.txt").toString()))
          .redirectError(ProcessBuilder.Redirect.DISCARD);
      builder.environment().put("OMP_NUM_THREADS", "1");
      Process process = builder.start();
      String output = new String(process.getInputStream().readAllBytes(),
          StandardCharsets.UTF_8).strip();
      if (process.waitFor() != 0) {
        throw new IllegalStateException("bench/peers.py " + workload + " failed: " + output);
      }
      JsonObject result = JsonParser.parseString(output.substring(output.lastIndexOf('\n') + 1))
          .getAsJsonObject();
      double best = 0;
      for (var rate : result.getAsJsonArray("examplesPerSecond")) {
        best = Math.max(best, rate.getAsDouble());
      }
      return new Result(best,
          result.get("threads").getAsDouble(),
          result.get("torch").getAsString() + ", BLAS " + result.get("blas").getAsString());
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
