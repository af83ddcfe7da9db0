package tandem.bench.soak;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.StreamSupport;
import tandem.api.v1.JobState;
import tandem.api.v1.StreamEventsRequest;
import tandem.api.v1.TrainingEvent;
import tandem.api.v1.TrainingServiceGrpc;

/**
 * The soak benchmark's event subscribers, in a process of their own (started under {@code nice}
 * by {@link SoakBench}): for each {@code follow ROUND JOB,JOB,...} line on stdin, {@code
 * subscribers} streams spread over the jobs (subscriber {@code i} follows job {@code i mod
 * jobs}; the first {@code slow} of them pause {@code slowDelay} after each event), each on its
 * own connection and thread, from the start of the log to {@code job_finished}. Each checks that
 * it saw sequence numbers 1, 2, 3, ... without a gap, a repeat or a skipped range, and that the
 * job succeeded. Prints {@code done ROUND DELIVERED FAILURES [FIRST_FAILURE]} when all ended.
 *
 * <p>Usage: {@code SoakSubscribers PORT SUBSCRIBERS SLOW SLOW_DELAY_MICROS [BATCHES|EVENTS]}.
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

  private SoakSubscribers() {}

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    int subscribers = Integer.parseInt(args[1]);
    int slow = Integer.parseInt(args[2]);
    long slowDelayMicros = Long.parseLong(args[3]);
    Stream stream = args.length > 4 ? Stream.valueOf(args[4]) : Stream.BATCHES;
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    System.out.println("ready");
    System.out.flush();
    String line;
    while ((line = in.readLine()) != null && !line.equals("quit")) {
      String[] parts = line.split(" ");
      String[] jobs = parts[2].split(",");
      System.out.println("done " + parts[1] + " "
          + follow(port, jobs, subscribers, slow, slowDelayMicros, stream));
      System.out.flush();
    }
  }

  /** Follows {@code jobs} with the subscribers until every stream ended; "DELIVERED FAILURES [WHY]". */
  static String follow(int port, String[] jobs, int subscribers, int slow, long slowDelayMicros,
      Stream stream) throws InterruptedException {
    AtomicLong delivered = new AtomicLong();
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    CountDownLatch ended = new CountDownLatch(subscribers);
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < subscribers; i++) {
      String job = jobs[i % jobs.length];
      long delay = i < slow ? slowDelayMicros : 0;
      Thread thread = new Thread(() -> {
        try {
          String failure = subscribe(port, job, delay, stream, delivered);
          if (failure != null) {
            failures.add(failure);
          }
        } catch (RuntimeException | InterruptedException e) {
          failures.add(job + ": " + e);
        } finally {
          ended.countDown();
        }
      }, "subscriber-" + i);
      threads.add(thread);
      thread.start();
    }
    ended.await();
    String first = failures.isEmpty() ? "" : " " + failures.peek().replace('\n', ' ');
    return delivered.get() + " " + failures.size() + first;
  }

  /** One subscriber from the log's start to job_finished; the failure, or null. */
  private static String subscribe(int port, String job, long delayMicros, Stream stream,
      AtomicLong delivered) throws InterruptedException {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
        .build();
    try {
      var stub = TrainingServiceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
      StreamEventsRequest request = StreamEventsRequest.newBuilder().setJobId(job).build();
      Iterator<TrainingEvent> events = stream == Stream.EVENTS ? stub.streamEvents(request)
          : StreamSupport.stream(Spliterators.spliteratorUnknownSize(
              stub.streamEventBatches(request), Spliterator.ORDERED), false)
              .flatMap(batch -> batch.getEventsList().stream()).iterator();
      long expected = 1;
      while (events.hasNext()) {
        TrainingEvent event = events.next();
        delivered.incrementAndGet();
        if (event.hasEventsMissed() || event.hasLogRewound()
            || event.getSequence() != expected) {
          return job + ": expected event " + expected + ", got " + event.getSequence() + " ("
              + event.getKindCase() + ")";
        }
        expected++;
        if (event.hasJobFinished()) {
          return event.getJobFinished().getState() == JobState.JOB_STATE_SUCCEEDED ? null
              : job + " ended " + event.getJobFinished().getState() + ": "
                  + event.getJobFinished().getMessage();
        }
        if (delayMicros > 0) {
          TimeUnit.MICROSECONDS.sleep(delayMicros);
        }
      }
      return job + ": the stream ended after event " + (expected - 1) + " without job_finished";
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
