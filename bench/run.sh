#!/usr/bin/env bash
# Runs Tandem's benchmarks with the JVM flags and OpenMP setting their figures assume.
#   bench/run.sh two-head [--steps 2000] [--repeats 7] [--json]
#   bench/run.sh async [--steps 10000] [--repeats 5] [--in-flight 16,32] [--events live|after] [--updates-together 2,4] [--json]
#     (prints the cross-core sharing cost of the moment beside each repetition)
#   bench/run.sh serving [--requests 3000] [--max-delay 2ms,0ms] [--json]
#   bench/run.sh broadcast [--parameters 4000000] [--repeats 20] [--json]
#   bench/run.sh soak [--rounds 60] [--warmup-rounds 15] [--jobs 20] [--subscribers 100] [--slow 5] [--max-steps N] [--stream batches|events] [--connections kept|per-round] [--subscriber-priority idle|nice] [--json]
#     (starts its own server JVM and a nice'd subscriber JVM; about 12 minutes; smoke: --rounds 1 --jobs 2 --subscribers 4 --max-steps 40 --warmup-rounds 0)
#   bench/run.sh memory [--rounds 3] [--examples a,b,...] [--max-steps N] [--json]   (its own server JVM)
#   bench/run.sh dashboard [--steps 60000] [--repeats 3] [--followers none,http,browser] [--follower-priority nice|idle] [--json]
#   bench/run.sh peers [--repeats 5] [--workloads two-head,conll] [--json]   (PyTorch side: bench/peers.py;
#     needs `apt-get install python3-torch libopenblas0-serial`, skipped with a message without them)
# Builds the project (offline, tests skipped) when the bench classes or its classpath are missing
# or older than a source file; set TANDEM_BENCH_REBUILD=1 to force a build. Server logs go to
# stderr at WARN (TANDEM_LOG_LEVEL overrides); the report goes to stdout.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
classes="$root/bench/target/classes"
classpath_file="$root/bench/target/runtime-classpath.txt"

needs_build() {
  [[ "${TANDEM_BENCH_REBUILD:-0}" == 1 ]] && return 0
  [[ -f "$classes/tandem/bench/BenchMain.class" && -s "$classpath_file" ]] || return 0
  [[ -n "$(find "$root" -path '*/target' -prune -o \( -name '*.java' -o -name '*.proto' \
      -o -name 'pom.xml' -o -name '*.conf' \) -newer "$classpath_file" -print -quit)" ]]
}

if needs_build; then
  echo "building (mvn install -DskipTests)..." >&2
  # One reactor build: the classpath then names this checkout's module jars (target/*.jar), not
  # the copies in ~/.m2, which other checkouts of the project may overwrite at any time.
  (cd "$root" && mvn ${TANDEM_MAVEN_ARGS:-} -q -B -Dstyle.color=never install dependency:build-classpath -DskipTests -pl bench -am \
      -Dmdep.includeScope=runtime -Dmdep.outputFile="$classpath_file" >&2 \
    && touch "$classpath_file")
fi

cachedir="${TANDEM_JAVACPP_CACHEDIR:-$root/target/javacpp-cache}"
export OMP_NUM_THREADS=1
export TANDEM_LOG_LEVEL="${TANDEM_LOG_LEVEL:-WARN}"
exec java -Xmx2g ${TANDEM_BENCH_JAVA_OPTS:-} \
  -Dorg.bytedeco.javacpp.cachedir="$cachedir" \
  -Dorg.bytedeco.javacpp.maxbytes=3G -Dorg.bytedeco.javacpp.maxphysicalbytes=6G \
  -cp "$classes:$(cat "$classpath_file")" tandem.bench.BenchMain "$@"
