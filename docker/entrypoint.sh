#!/bin/sh
# Runs one Tandem role in a container: `server ARGS` (TandemServerMain), `worker ARGS`
# (WorkerNodeMain), or any `tandem` command line (TandemCli). The roles run in this JVM directly,
# not in a child JVM as `tandem server` does on a workstation, so that signals reach them.
set -eu
role="${1:-server}"
[ "$#" -gt 0 ] && shift
case "$role" in
  server) main=tandem.orchestrator.TandemServerMain ;;
  worker) main=tandem.worker.node.WorkerNodeMain ;;
  *) main=tandem.client.TandemCli; set -- "$role" "$@" ;;
esac
# shellcheck disable=SC2086 # TANDEM_JAVA_OPTS is a list of options.
exec java ${TANDEM_JAVA_OPTS:-} -cp '/app/lib/*' "$main" "$@"
