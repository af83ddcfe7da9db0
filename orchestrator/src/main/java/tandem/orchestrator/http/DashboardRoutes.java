package tandem.orchestrator.http;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.completeOKWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.getFromResource;
import static org.apache.pekko.http.javadsl.server.Directives.getFromResourceDirectory;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEnd;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.pathSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.post;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.marshalling.sse.EventStreamMarshalling;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Source;
import tandem.api.v1.ScheduleSpec;
import tandem.api.v1.TaskSpec;
import tandem.model.spec.InvalidSpecException;
import tandem.model.spec.ScheduleSettings;
import tandem.model.spec.SettingsSpecs;
import tandem.orchestrator.job.JobManager;
import tandem.orchestrator.job.JobRecord;
import tandem.orchestrator.job.JobStore;
import tandem.orchestrator.metrics.TrainingMetrics;

/**
 * The dashboard's routes: pages and scripts from the class path ({@code tandem/dashboard},
 * uPlot from its WebJar), JSON under {@code /api/jobs}, a job's live events as Server-Sent Events
 * ({@link LiveEvents}), the actions (cancel, schedule weights; the {@link JobManager} messages
 * the gRPC service sends), and {@code /metrics}. Documents are built on {@code dataExecutor},
 * never on the actor system's dispatchers, which the coordinators share.
 *
 * <p>Actions are POSTs with a JSON body only, so a page of another site cannot send them without
 * the browser asking this server first (CORS preflight), which it never allows. Thread-safe.
 */
final class DashboardRoutes {

  private static final String PAGES = "tandem/dashboard";
  private static final String UPLOT = "META-INF/resources/webjars/uplot/" + uplotVersion() + "/dist";
  private static final int MAX_POINTS = 5000;
  private static final int MAX_COLUMNS = 1000;
  /** The shortest window of the page's live summaries a client may ask for. */
  private static final Duration MIN_WINDOW = Duration.ofMillis(50);

  private final JobStore store;
  private final ActorSystem<?> system;
  private final ActorRef<JobManager.Command> jobManager;
  private final DashboardData data;
  private final TrainingMetrics metrics;
  private final ExecutorService dataExecutor;
  private final ScheduledExecutorService streamExecutor;
  private final Duration linger;
  private final Duration liveWindow;
  private final Duration askTimeout;
  private final Materializer materializer;
  private final DashboardAccess access;
  private final int subscribersPerJob;

  /** @param token the bearer token every request must carry ({@link DashboardAccess}); empty: none */
  DashboardRoutes(JobStore store, ActorSystem<?> system, ActorRef<JobManager.Command> jobManager,
      TrainingMetrics metrics, ExecutorService dataExecutor,
      ScheduledExecutorService streamExecutor, Duration linger, Duration liveWindow,
      Duration askTimeout, String token, int subscribersPerJob) {
    this.access = new DashboardAccess(token);
    this.subscribersPerJob = subscribersPerJob;
    this.store = store;
    this.system = system;
    this.jobManager = jobManager;
    this.data = new DashboardData(store);
    this.metrics = metrics;
    this.dataExecutor = dataExecutor;
    this.streamExecutor = streamExecutor;
    this.linger = linger;
    this.liveWindow = liveWindow;
    this.askTimeout = askTimeout;
    this.materializer = Materializer.matFromSystem(system);
  }

  Route route() {
    return access.check(() -> concat(
        pathSingleSlash(() -> get(() -> getFromResource(PAGES + "/index.html"))),
        path("job", () -> get(() -> getFromResource(PAGES + "/job.html"))),
        pathPrefix("assets", () -> get(() -> getFromResourceDirectory(PAGES))),
        pathPrefix("webjars", () -> pathPrefix("uplot", () ->
            get(() -> getFromResourceDirectory(UPLOT)))),
        path("metrics", () -> get(() -> completeWithFuture(CompletableFuture.supplyAsync(
            () -> HttpResponse.create().withEntity(HttpEntities.create(
                ContentTypes.parse(metrics.contentType()), metrics.scrape())), dataExecutor)))),
        pathPrefix("api", () -> pathPrefix("jobs", () -> concat(
            pathEnd(() -> get(() -> json(CompletableFuture.supplyAsync(data::jobs,
                dataExecutor)))),
            pathPrefix(segment(), this::job))))));
  }

  private Route job(String jobId) {
    Optional<JobRecord> found = store.find(jobId);
    if (found.isEmpty()) {
      return complete(StatusCodes.NOT_FOUND, "no job with id '" + jobId + "'");
    }
    JobRecord record = found.get();
    return concat(
        pathEnd(() -> get(() -> json(CompletableFuture.supplyAsync(() -> data.status(record),
            dataExecutor)))),
        path("series", () -> get(() -> parameterOptional("tasks", tasks ->
            parameterOptional("points", points -> parameterOptional("halfLife", halfLife ->
                json(CompletableFuture.supplyAsync(() -> data.series(record,
                    tasks.map(DashboardRoutes::names).orElse(null),
                    bounded(points, 300, MAX_POINTS),
                    positive(halfLife)), dataExecutor))))))),
        path("overview", () -> get(() -> parameterOptional("columns", columns ->
            json(CompletableFuture.supplyAsync(() -> data.overview(record,
                bounded(columns, 120, MAX_COLUMNS)), dataExecutor))))),
        path("events", () -> get(() -> optionalHeaderValueByName("Last-Event-ID", lastId ->
            parameterOptional("after", after -> {
              long from = sequence(lastId.or(() -> after).orElse("0"));
              return follow(record, () -> LiveEvents.after(record.events(), from,
                  streamExecutor, linger, materializer));
            })))),
        path("live", () -> get(() -> optionalHeaderValueByName("Last-Event-ID", lastId ->
            parameterOptional("after", after -> parameterOptional("halfLife", halfLife ->
                parameterOptional("window", window -> parameterOptional("tasks", tasks -> {
                  long from = sequence(lastId.or(() -> after).orElse("0"));
                  double h = positive(halfLife);
                  Duration every = Duration.ofMillis(bounded(window,
                      (int) liveWindow.toMillis(), 5000));
                  return follow(record, () -> LiveEvents.summarised(record.events(), from,
                      streamExecutor, linger, every.compareTo(MIN_WINDOW) < 0 ? MIN_WINDOW : every,
                      h > 0 ? h : DashboardData.autoHalfLife(record),
                      tasks.map(DashboardRoutes::names).orElse(null),
                      materializer));
                }))))))),
        path("cancel", () -> post(() -> jsonBody(body -> outcome(jobId, AskPattern.ask(
            jobManager, replyTo -> new JobManager.CancelJob(jobId, replyTo), askTimeout,
            system.scheduler()))))),
        path("schedule", () -> post(() -> jsonBody(body -> schedule(record, body)))));
  }

  /**
   * Streams the events {@code stream} makes, unless the job has as many followers as the limit
   * allows (then it is not called).
   */
  private Route follow(JobRecord record, java.util.function.Supplier<Source<ServerSentEvent,
      NotUsed>> stream) {
    if (record.events().listenerCount() >= subscribersPerJob) {
      return complete(StatusCodes.TOO_MANY_REQUESTS, "job " + record.jobId() + " has "
          + subscribersPerJob + " subscribers already (setting "
          + "tandem.orchestrator.limits.subscribers-per-job)");
    }
    return completeOKWithFuture(CompletableFuture.completedFuture(stream.get()),
        EventStreamMarshalling.toEventStream());
  }

  private Route schedule(JobRecord record, String body) {
    ScheduleSpec.Builder spec = ScheduleSpec.newBuilder();
    ScheduleSettings settings;
    try {
      JsonFormat.parser().merge(body, spec);
      settings = SettingsSpecs.schedule(spec.build(), record.spec().getTasksList().stream()
          .map(TaskSpec::getName).toList(), "schedule");
    } catch (InvalidProtocolBufferException | InvalidSpecException e) {
      return complete(StatusCodes.BAD_REQUEST, e.getMessage());
    }
    return outcome(record.jobId(), AskPattern.ask(jobManager,
        replyTo -> new JobManager.UpdateSchedule(record.jobId(), spec.build(), settings, replyTo),
        askTimeout, system.scheduler()));
  }

  /** A POST's body, which must be JSON (see the class comment). */
  private Route jsonBody(Function<String, Route> inner) {
    return entity(Unmarshaller.entityToString(), body -> extractRequest(request ->
        request.entity().getContentType().mediaType().equals(MediaTypes.APPLICATION_JSON)
            ? inner.apply(body)
            : complete(StatusCodes.UNSUPPORTED_MEDIA_TYPE, "expected application/json")));
  }

  private Route outcome(String jobId, CompletionStage<JobManager.Outcome> outcome) {
    return completeWithFuture(outcome.handle((result, error) -> {
      if (error != null) {
        return text(StatusCodes.SERVICE_UNAVAILABLE, "the server is busy or shutting down");
      }
      return switch (result) {
        case ACCEPTED -> HttpResponse.create().withEntity(HttpEntities.create(
            ContentTypes.APPLICATION_JSON, data.status(store.find(jobId).orElseThrow())));
        case UNKNOWN_JOB -> text(StatusCodes.NOT_FOUND, "no job with id '" + jobId + "'");
        default -> text(StatusCodes.CONFLICT, "job " + jobId + " is not running");
      };
    }));
  }

  private static HttpResponse text(StatusCode status, String message) {
    return HttpResponse.create().withStatus(status).withEntity(message);
  }

  private static Route json(CompletionStage<String> document) {
    return completeWithFuture(document.thenApply(body -> HttpResponse.create()
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body))));
  }

  private static Set<String> names(String commaSeparated) {
    return Arrays.stream(commaSeparated.split(",")).filter(s -> !s.isEmpty())
        .collect(Collectors.toSet());
  }

  private static int bounded(Optional<String> value, int otherwise, int max) {
    try {
      return value.map(Integer::parseInt).map(v -> Math.max(1, Math.min(max, v)))
          .orElse(otherwise);
    } catch (NumberFormatException e) {
      return otherwise;
    }
  }

  private static double positive(Optional<String> value) {
    try {
      double parsed = value.map(Double::parseDouble).orElse(0.0);
      return Double.isFinite(parsed) && parsed > 0 ? parsed : 0;
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static long sequence(String value) {
    try {
      return Math.max(0, Long.parseLong(value.trim()));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /** The version of the uPlot WebJar on the class path (its pom.properties). */
  private static String uplotVersion() {
    java.util.Properties pom = new java.util.Properties();
    try (var in = DashboardRoutes.class.getClassLoader().getResourceAsStream(
        "META-INF/maven/org.webjars.npm/uplot/pom.properties")) {
      if (in == null) {
        throw new IllegalStateException("the uPlot WebJar is not on the class path");
      }
      pom.load(in);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return pom.getProperty("version");
  }
}
