package tandem.bench.soak;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import tandem.api.v1.JobState;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingEventBatch;
import tandem.api.v1.TrainingServiceGrpc;

/**
 * The soak benchmark's event subscribers, in a process of their own (started under {@code nice}
 * by {@link SoakBench}): for each {@code follow ROUND JOB,JOB,...} line on stdin, {@code
 * subscribers} streams spread over the jobs (subscriber {@code i} follows job {@code i mod
 * jobs}; the first {@code slow} of them pause {@code slowDelay} per event read), each on its
 * own connection, from the start of the log to {@code job_finished}. Each checks that it saw
 * sequence numbers 1, 2, 3, ... without a gap, a repeat or a skipped range, and that the job
 * succeeded. They are asynchronous calls read on one event-loop thread, as an efficient client
 * of many streams would be: a thread per blocking call, each message handed from the
 * transport's thread to the caller's, took this process 1.4–2.0 s of CPU a round (bench/run.sh
 * soak, per-round connections) against 0.7–0.9 s. Prints {@code done ROUND DELIVERED FAILURES
 * [FIRST_FAILURE]} when all ended.
 *
 * <p>Subscriber {@code i} keeps its connection from round to round, as a long-running client
 * (a dashboard, a monitor) keeps its channel; with {@code PER_ROUND} it connects anew each round,
 * as a command-line follower started per job would.
 *
 * <p>Usage: {@code SoakSubscribers PORT SUBSCRIBERS SLOW SLOW_DELAY_MICROS [BATCHES|EVENTS]
 * [KEPT|PER_ROUND]}.
 */
public final class SoakSubscribers {

  /** Which call a subscriber follows a job with. */
  public enum Stream {
    /** {@code StreamEventBatches}: the events read together in one message. */
    BATCHES,
    /** {@code StreamEvents}: a message an event. */
    EVENTS
  }

  private static final Duration DEADLINE = Duration.ofMinutes(60);

  /** The one thread all subscribers' connections are read on (and their pauses timed by). */
  private static final EventLoopGroup EVENT_LOOP = new NioEventLoopGroup(1);

  private SoakSubscribers() {}

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    int subscribers = Integer.parseInt(args[1]);
    int slow = Integer.parseInt(args[2]);
    long slowDelayMicros = Long.parseLong(args[3]);
    Stream stream = args.length > 4 ? Stream.valueOf(args[4]) : Stream.BATCHES;
    Connections connections = new Connections(port,
        args.length > 5 && args[5].equals("PER_ROUND"));
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    System.out.println("ready");
    System.out.flush();
    String line;
    while ((line = in.readLine()) != null && !line.equals("quit")) {
      String[] parts = line.split(" ");
      String[] jobs = parts[2].split(",");
      System.out.println("done " + parts[1] + " "
          + follow(connections, jobs, subscribers, slow, slowDelayMicros, stream));
      System.out.flush();
    }
    connections.close();
    EVENT_LOOP.shutdownGracefully(0, 5, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
  }

  /** Follows {@code jobs} with the subscribers until every stream ended; "DELIVERED FAILURES [WHY]". */
  static String follow(Connections connections, String[] jobs, int subscribers, int slow,
      long slowDelayMicros, Stream stream) throws InterruptedException {
    AtomicLong delivered = new AtomicLong();
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    CountDownLatch ended = new CountDownLatch(subscribers);
    try {
      for (int i = 0; i < subscribers; i++) {
        String job = jobs[i % jobs.length];
        long delay = i < slow ? slowDelayMicros : 0;
        ManagedChannel channel = connections.channel(i);
        var stub = TrainingServiceGrpc.newStub(channel)
            .withDeadlineAfter(DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
        StreamEventsRequest request = StreamEventsRequest.newBuilder().setJobId(job).build();
        Follower follower = new Follower(job, delay, delivered, failures, ended);
        if (stream == Stream.EVENTS) {
          stub.streamEvents(request, follower.events());
        } else {
          stub.streamEventBatches(request, follower.batches());
        }
      }
      ended.await();
    } finally {
      connections.roundEnded();
    }
    String first = failures.isEmpty() ? "" : " " + failures.peek().replace('\n', ' ');
    return delivered.get() + " " + failures.size() + first;
  }

  /** Subscriber i's connection: kept from round to round, or made anew each round. */
  private static final class Connections {

    private final int port;
    private final boolean perRound;
    private final List<ManagedChannel> channels = new ArrayList<>();

    Connections(int port, boolean perRound) {
      this.port = port;
      this.perRound = perRound;
    }

    ManagedChannel channel(int subscriber) {
      while (channels.size() <= subscriber) {
        channels.add(NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
            .eventLoopGroup(EVENT_LOOP).channelType(NioSocketChannel.class).directExecutor()
            .build());
      }
      return channels.get(subscriber);
    }

    void roundEnded() throws InterruptedException {
      if (perRound) {
        close();
      }
    }

    void close() throws InterruptedException {
      for (ManagedChannel channel : channels) {
        channel.shutdownNow();
      }
      for (ManagedChannel channel : channels) {
        channel.awaitTermination(5, TimeUnit.SECONDS);
      }
      channels.clear();
    }
  }

  /**
   * One subscriber from the log's start to job_finished: checks each event as it comes, asks for
   * the next message at once, or (a slow one) after pausing {@code delayMicros} per event read.
   */
  private static final class Follower {

    private final String job;
    private final long delayMicros;
    private final AtomicLong delivered;
    private final ConcurrentLinkedQueue<String> failures;
    private final CountDownLatch ended;
    private long expected = 1;
    private boolean finished;
    private boolean done;

    Follower(String job, long delayMicros, AtomicLong delivered,
        ConcurrentLinkedQueue<String> failures, CountDownLatch ended) {
      this.job = job;
      this.delayMicros = delayMicros;
      this.delivered = delivered;
      this.failures = failures;
      this.ended = ended;
    }

    ClientResponseObserver<StreamEventsRequest, TrainingEvent> events() {
      return observer(event -> List.of(event));
    }

    ClientResponseObserver<StreamEventsRequest, TrainingEventBatch> batches() {
      return observer(TrainingEventBatch::getEventsList);
    }

    private <T> ClientResponseObserver<StreamEventsRequest, T> observer(
        Function<T, List<TrainingEvent>> events) {
      return new ClientResponseObserver<>() {
        private ClientCallStreamObserver<StreamEventsRequest> call;

        @Override
        public void beforeStart(ClientCallStreamObserver<StreamEventsRequest> call) {
          this.call = call;
          call.disableAutoRequestWithInitial(1);
        }

        @Override
        public void onNext(T message) {
          List<TrainingEvent> read = events.apply(message);
          for (TrainingEvent event : read) {
            String failure = check(event);
            if (failure != null) {
              end(failure);
              call.cancel("the subscriber failed", null);
              return;
            }
          }
          if (delayMicros > 0 && !finished) {
            EVENT_LOOP.schedule(() -> call.request(1), delayMicros * read.size(),
                TimeUnit.MICROSECONDS);
          } else {
            call.request(1);
          }
        }

        @Override
        public void onError(Throwable t) {
          end(job + ": " + t);
        }

        @Override
        public void onCompleted() {
          end(finished ? null : job + ": the stream ended after event " + (expected - 1)
              + " without job_finished");
        }
      };
    }

    /** The failure this event shows, or null. */
    private String check(TrainingEvent event) {
      delivered.incrementAndGet();
      if (finished || event.hasEventsMissed() || event.hasLogRewound()
          || event.getSequence() != expected) {
        return job + ": expected event " + expected + ", got " + event.getSequence() + " ("
            + event.getKindCase() + ")";
      }
      expected++;
      if (event.hasJobFinished()) {
        finished = true;
        if (event.getJobFinished().getState() != JobState.JOB_STATE_SUCCEEDED) {
          return job + " ended " + event.getJobFinished().getState() + ": "
              + event.getJobFinished().getMessage();
        }
      }
      return null;
    }

    private void end(String failure) {
      if (done) {
        return;
      }
      done = true;
      if (failure != null) {
        failures.add(failure);
      }
      ended.countDown();
    }
  }
}
