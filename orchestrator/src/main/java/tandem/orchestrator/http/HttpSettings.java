package tandem.orchestrator.http;

import com.typesafe.config.Config;

/**
 * The dashboard's HTTP endpoint, read from {@code tandem.orchestrator.http} (defaults in
 * reference.conf). Immutable.
 *
 * @param host address to bind; loopback by default, like gRPC should be: the pages can cancel jobs
 * @param port port to bind; 0 picks a free one; negative: no HTTP endpoint
 * @param metricsTaskLabels tasks per job with their own {@code task} label in {@code /metrics}
 * @param liveWindow how often a job page's live summary goes out ({@code /api/jobs/ID/live})
 * @param subscribersPerJob live followers of one job, gRPC and pages together
 *     ({@code tandem.orchestrator.limits.subscribers-per-job})
 */
public record HttpSettings(String host, int port, int metricsTaskLabels,
    java.time.Duration liveWindow, int subscribersPerJob) {

  public static HttpSettings create(Config config) {
    Config c = config.getConfig("tandem.orchestrator.http");
    return new HttpSettings(c.getString("host"), c.getInt("port"),
        c.getInt("metrics-task-labels"), c.getDuration("live-window"),
        config.getInt("tandem.orchestrator.limits.subscribers-per-job"));
  }

  public boolean enabled() {
    return port >= 0;
  }

  public HttpSettings withPort(int newPort) {
    return new HttpSettings(host, newPort, metricsTaskLabels, liveWindow, subscribersPerJob);
  }

  public HttpSettings withHost(String newHost) {
    return new HttpSettings(newHost, port, metricsTaskLabels, liveWindow, subscribersPerJob);
  }
}
