#!/usr/bin/env bash
# Idle cost: the CPU seconds a sample service uses over 60 s with nothing to do, on SQLite and
# on PostgreSQL, and the PostgreSQL database's committed transactions per second meanwhile.
#
#   bash kalix-core/benches/idle_cost.sh [binaries directory ...]
#
# Each directory holds release builds of `eventsourced-counter` and `choreography-saga` (to
# compare two commits, build each into its own directory); without one, this checkout's are
# built. `IDLE_SECONDS` (60) changes the window, `IDLE_POSTGRES_URL` (the local `test`
# database) the database; each run gets a schema of its own.
set -euo pipefail
idle=${IDLE_SECONDS:-60}
postgres=${IDLE_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
if [ $# -eq 0 ]; then
  cargo build --release -q -p eventsourced-counter -p choreography-saga
  set -- "$(cargo metadata --format-version 1 --no-deps | sed 's/.*"target_directory":"\([^"]*\)".*/\1/')/release"
fi
commits() {
  psql "$postgres" -Atc "select xact_commit from pg_stat_database where datname = current_database()"
}
port=9700
for binaries in "$@"; do
  for sample in eventsourced-counter choreography-saga; do
    for store in sqlite postgres; do
      port=$((port + 1))
      data=$(mktemp -d)
      if [ "$store" = sqlite ]; then
        env=(KALIX_STORE="sqlite://$data/kalix.db")
      else
        env=(KALIX_STORE="$postgres" KALIX_POSTGRES_SCHEMA="idle_${sample//-/_}_$$_$port")
      fi
      env "${env[@]}" KALIX_HTTP_PORT=$port KALIX_ADMIN_PORT=0 RUST_LOG=warn "$binaries/$sample" >"$data/log" 2>&1 &
      pid=$!
      sleep 8 # started, its start-up work done
      cpu0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
      [ "$store" = postgres ] && tx0=$(commits)
      sleep "$idle"
      cpu1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
      transactions="-"
      # The two reads of the count are transactions too.
      [ "$store" = postgres ] && transactions=$(echo "scale=1; ($(commits) - $tx0 - 2) / $idle" | bc)
      cpu=$(echo "scale=2; ($cpu1 - $cpu0) / $(getconf CLK_TCK)" | bc)
      echo "$binaries $sample $store: ${cpu} CPU seconds in ${idle} s idle; database transactions/s: $transactions"
      kill "$pid"
      wait "$pid" 2>/dev/null || true
      rm -rf "$data"
    done
  done
done
