#!/usr/bin/env bash
# Reads inside the copy-on-write home against the same reads natively, in one run (hot
# cache): 1,000 small files, and one 100 MiB file. Target: native time / sandbox time >= 0.95.
#
#   bench/overlay_reads.sh                 # as root (runs as `sandbox-bench`) or as a user
#   SANDBOX=/path/to/bin/sandbox ROUNDS=20 bench/overlay_reads.sh
#
# Each side runs the same timing script (timer.sh below) that reads everything once to warm
# the cache, then ROUNDS times, and prints the median round in microseconds. The sandbox side
# runs it inside one `sandbox run`, so the launch itself is not counted.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
ROUNDS=${ROUNDS:-15}
SANDBOX=${SANDBOX:-$repo/build/bin/sandbox}
[[ -x $SANDBOX ]] || { echo "bench: no sandbox binary at $SANDBOX (set SANDBOX)" >&2; exit 1; }
SANDBOX=$(readlink -f "$SANDBOX")

if [[ $(id -u) == 0 ]]; then
  user=${BENCH_USER:-sandbox-bench}
  id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
  stage=$(mktemp -d /var/tmp/sandbox-bench.XXXXXX)
  trap 'rm -rf "$stage"' EXIT
  cp -a "$(dirname "$(dirname "$SANDBOX")")"/{bin,share} "$stage"/ 2>/dev/null || cp -a "$(dirname "$SANDBOX")" "$stage/bin"
  chmod -R a+rX "$stage"
  runuser -u "$user" -- env SANDBOX="$stage/bin/sandbox" ROUNDS="$ROUNDS" bash "$here/overlay_reads.sh"
  exit
fi

data=$HOME/.sandbox-bench-reads
if [[ ! -f $data/big ]]; then
  mkdir -p "$data/small"
  for i in $(seq 1000); do head -c 4096 /dev/urandom > "$data/small/f$i"; done
  head -c $((100 * 1024 * 1024)) /dev/urandom > "$data/big"
fi

timer='
median() { sort -n | awk "{a[NR]=\$1} END {print a[int((NR+1)/2)]}"; }
round() { local t0 t1; t0=$(date +%s%N); eval "$1" >/dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 )); }
eval "$1" >/dev/null
for i in $(seq '"$ROUNDS"'); do round "$1"; done | median
'
small="cat $data/small/*"
big="cat $data/big"
native_small=$(bash -c "$timer" _ "$small")
native_big=$(bash -c "$timer" _ "$big")
# One app name per run, so that the layer is the app's own and starts empty.
box_small=$("$SANDBOX" run --name bench-reads -- bash -c "$timer" _ "$small")
box_big=$("$SANDBOX" run --name bench-reads -- bash -c "$timer" _ "$big")
"$SANDBOX" reset -y bench-reads >/dev/null 2>&1 || true

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '| read (hot cache, median of %s) | native | sandbox (overlay home) | native / sandbox |\n' "$ROUNDS"
printf '|---|---:|---:|---:|\n'
printf '| 1,000 files of 4 KiB | %s us | %s us | %s |\n' "$native_small" "$box_small" "$(ratio "$native_small" "$box_small")"
printf '| one 100 MiB file | %s us | %s us | %s |\n' "$native_big" "$box_big" "$(ratio "$native_big" "$box_big")"
