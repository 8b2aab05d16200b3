#!/usr/bin/env bash
# Replay throughput of vigil: builds the binary, generates N audit events
# (default 100000) by repeating the real kube-apiserver captures of
# ruleset/testdata/real with fresh auditIDs, replays them with the embedded
# default ruleset and prints wall time, events/s and peak RSS.
#
#   test/e2e/bench-replay.sh [N]
#
# The same measurement runs in Go as
#   go test -run TestReplayThroughput -v ./test/e2e/
#   go test -run '^$' -bench BenchmarkReplay100k ./test/e2e/
set -euo pipefail

n=${1:-100000}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$root" && CGO_ENABLED=0 go build -o "$tmp/vigil" ./cmd/vigil)

# N events, the captures in name order repeated; each copy gets a fresh
# auditID (UUID-shaped: copy number and line number, unique per event).
cat "$root"/ruleset/testdata/real/*.jsonl | grep -v '^[[:space:]]*$' >"$tmp/base.jsonl"
awk -v n="$n" '
  { base[NR] = $0 }
  END {
    key = "\"auditID\":\""
    for (i = 0; i < n; i++) {
      line = base[i % NR + 1]
      p = index(line, key)
      if (p == 0) { print "event without auditID: " line > "/dev/stderr"; exit 1 }
      rest = substr(line, p + length(key))
      printf "%s%s%08x-0000-4000-8000-%012x%s\n", substr(line, 1, p - 1), key, int(i / NR), i, substr(rest, index(rest, "\""))
    }
  }' "$tmp/base.jsonl" >"$tmp/events.jsonl"
bytes=$(wc -c <"$tmp/events.jsonl")
lines=$(wc -l <"$tmp/events.jsonl")
[ "$lines" -eq "$n" ] || { echo "generated $lines events, want $n" >&2; exit 1; }

rss_kb=
start=$(date +%s%N)
if [ -x /usr/bin/time ]; then
  /usr/bin/time -f '%M' -o "$tmp/rss" "$tmp/vigil" replay "$tmp/events.jsonl" >"$tmp/alerts.jsonl" 2>"$tmp/stderr"
  rss_kb=$(tail -n 1 "$tmp/rss")
else
  "$tmp/vigil" replay "$tmp/events.jsonl" >"$tmp/alerts.jsonl" 2>"$tmp/stderr"
fi
end=$(date +%s%N)

summary=$(tail -n 1 "$tmp/stderr")
alerts=$(wc -l <"$tmp/alerts.jsonl")
awk -v ns=$((end - start)) -v n="$n" -v bytes="$bytes" -v alerts="$alerts" -v rss="$rss_kb" -v summary="$summary" 'BEGIN {
  s = ns / 1e9
  printf "events:      %d (%.1f MB)\n", n, bytes / 1048576
  printf "alerts:      %d\n", alerts
  printf "wall time:   %.3f s (process start and rules loading included)\n", s
  printf "throughput:  %.0f events/s, %.1f MB/s\n", n / s, bytes / 1048576 / s
  if (rss != "") printf "max RSS:     %.1f MB\n", rss / 1024
  printf "vigil:       %s\n", summary
}'
