package tandem.bench.twohead;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * The two-head benchmark's data: {@value #FEATURES} standard-normal features per row and two
 * labels, each the argmax over {@value #CLASSES} classes of its own fixed random linear map of
 * the features ({@code label_a} from W_a, {@code label_b} from W_b), so both heads have something
 * learnable from the shared features. Written as a CSV file: columns 0-63 features, 64
 * {@code label_a}, 65 {@code label_b}, no header. Same seed, same file.
 */
public final class TwoHeadData {

  public static final int FEATURES = 64;
  public static final int CLASSES = 10;
  public static final int LABEL_A_COLUMN = FEATURES;
  public static final int LABEL_B_COLUMN = FEATURES + 1;

  private TwoHeadData() {}

  /** Writes {@code rows} rows to {@code file}. */
  public static void writeCsv(Path file, int rows, long seed) throws IOException {
    if (rows <= 0) {
      throw new IllegalArgumentException("expected a positive row count, found " + rows);
    }
    Random random = new Random(seed);
    double[][] mapA = gaussian(random, CLASSES, FEATURES);
    double[][] mapB = gaussian(random, CLASSES, FEATURES);
    float[] x = new float[FEATURES];
    try (BufferedWriter out = Files.newBufferedWriter(file)) {
      StringBuilder line = new StringBuilder();
      for (int row = 0; row < rows; row++) {
        line.setLength(0);
        for (int i = 0; i < FEATURES; i++) {
          x[i] = (float) random.nextGaussian();
          line.append(x[i]).append(',');
        }
        line.append(argmax(mapA, x)).append(',').append(argmax(mapB, x)).append('\n');
        out.append(line);
      }
    }
  }

  private static double[][] gaussian(Random random, int rows, int columns) {
    double[][] matrix = new double[rows][columns];
    for (double[] row : matrix) {
      for (int j = 0; j < columns; j++) {
        row[j] = random.nextGaussian();
      }
    }
    return matrix;
  }

  private static int argmax(double[][] map, float[] x) {
    int best = 0;
    double bestScore = Double.NEGATIVE_INFINITY;
    for (int c = 0; c < map.length; c++) {
      double score = 0;
      for (int i = 0; i < x.length; i++) {
        score += map[c][i] * x[i];
      }
      if (score > bestScore) {
        bestScore = score;
        best = c;
      }
    }
    return best;
  }
}
