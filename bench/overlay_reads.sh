#!/usr/bin/env bash
# Reads inside the copy-on-write home against the same reads natively, in one run (hot
# cache): 1,000 small files, and one 100 MiB file. Target: native time / sandbox time >= 0.95.
#
#   bench/overlay_reads.sh                 # as root (runs as `sandbox-bench`) or as a user
#   SANDBOX=/path/to/bin/sandbox ROUNDS=20 REPEAT=7 bench/overlay_reads.sh
#
# First table (the issue's measurement): each side runs the same timing script (timer.sh below)
# that reads everything with `cat` once to warm the cache, then ROUNDS times, and prints the
# median round in microseconds. The sandbox side runs it inside one `sandbox run`, so the
# launch itself is not counted.
#
# Second table, per-file syscall cost: bench/readloop.c (compiled here with `cc -O2`) times
# stat, open+close and open+read-to-EOF+close of each of the same 1,000 files, median of
# LOOP_ROUNDS rounds after a warm-up round, in four places:
#   native        the files themselves
#   sandbox       `sandbox run --name bench-reads`: the overlay home (lower = the real home)
#   bind          `sandbox run --home bind`: the same sandbox without the overlay
#   bare overlay  a kernel overlay mounted by hand in `unshare -Urm` (lowerdir = the real home,
#                 an empty upper, `userxattr`: the sandbox's options), no sandbox at all
# The four run REPEAT times, in a rotating order; each cell is the median of the REPEAT runs'
# medians, with their range. The last line compares the sandbox's overlay home with the bare
# overlay, run by run (see there). Progress and every run's numbers go to stderr.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
ROUNDS=${ROUNDS:-15}
LOOP_ROUNDS=${LOOP_ROUNDS:-21}
REPEAT=${REPEAT:-7}
SANDBOX=${SANDBOX:-$repo/build/bin/sandbox}
[[ -x $SANDBOX ]] || { echo "bench: no sandbox binary at $SANDBOX (set SANDBOX)" >&2; exit 1; }
SANDBOX=$(readlink -f "$SANDBOX")
command -v cc >/dev/null || { echo "bench: no C compiler (apt-get install gcc)" >&2; exit 1; }
command -v unshare >/dev/null || { echo "bench: no unshare (apt-get install util-linux)" >&2; exit 1; }

if [[ $(id -u) == 0 ]]; then
  user=${BENCH_USER:-sandbox-bench}
  id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
  stage=$(mktemp -d /var/tmp/sandbox-bench.XXXXXX)
  trap 'rm -rf "$stage"' EXIT
  cp -a "$(dirname "$(dirname "$SANDBOX")")"/{bin,share} "$stage"/ 2>/dev/null || cp -a "$(dirname "$SANDBOX")" "$stage/bin"
  cp "$here/overlay_reads.sh" "$here/readloop.c" "$stage"/
  chmod -R a+rX "$stage"
  runuser -u "$user" -- env SANDBOX="$stage/bin/sandbox" TMPDIR=/var/tmp ROUNDS="$ROUNDS" LOOP_ROUNDS="$LOOP_ROUNDS" \
    REPEAT="$REPEAT" bash "$stage/overlay_reads.sh"
  exit
fi

data=$HOME/.sandbox-bench-reads
files=1000
if [[ ! -f $data/big ]]; then
  mkdir -p "$data/small"
  for i in $(seq "$files"); do head -c 4096 /dev/urandom > "$data/small/f$i"; done
  head -c $((100 * 1024 * 1024)) /dev/urandom > "$data/big"
fi

# The helper and the bare overlay's upper/work/mount point, in a directory of our own that the
# sandbox is given read-only (its /var/tmp and /tmp are fresh tmpfs). The bare overlay is
# mounted in a mount namespace that dies with its process, so no mount outlives a run.
tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/sandbox-bench-reads.XXXXXX")
cleanup() {
  "$SANDBOX" reset -y bench-reads >/dev/null 2>&1 || true
  chmod -R u+rwX "$tmp" 2>/dev/null || true  # overlayfs leaves work/work mode 000
  rm -rf "$tmp"
}
trap cleanup EXIT
# One app name per run, so that the layer is the app's own; empty at the start too.
"$SANDBOX" reset -y bench-reads >/dev/null 2>&1 || true
cc -O2 -o "$tmp/readloop" "$here/readloop.c"
mkdir "$tmp/ovl" "$tmp/ovl/upper" "$tmp/ovl/work" "$tmp/ovl/merged"

# shellcheck disable=SC2016  # expanded by the inner bash
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
box_small=$("$SANDBOX" run --name bench-reads -- bash -c "$timer" _ "$small")
box_big=$("$SANDBOX" run --name bench-reads -- bash -c "$timer" _ "$big")

# Per-file syscall cost: the same readloop on the same files, four ways.
loop=("$tmp/readloop" "$data/small" "$files" "$LOOP_ROUNDS")
run_native() { "${loop[@]}"; }
run_sandbox() { "$SANDBOX" run --name bench-reads --ro "$tmp" -- "${loop[@]}"; }
run_bind() { "$SANDBOX" run --name bench-reads --home bind --ro "$tmp" -- "${loop[@]}"; }
run_bare() {
  local rel=${data#"$HOME"/}
  [[ $rel != "$data" ]] || { echo "bench: $data is not under \$HOME" >&2; return 1; }
  # shellcheck disable=SC2016  # expanded by the inner sh
  unshare -Urm sh -c 'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work,userxattr" "$2/merged" &&
    exec "$3" "$2/merged/$4" "$5" "$6"' sh "$HOME" "$tmp/ovl" "$tmp/readloop" "$rel/small" "$files" "$LOOP_ROUNDS"
}
columns=(native bind sandbox bare)  # sandbox next to bare in the rotation
metrics=(stat open read)
declare -A runs=()  # runs[COLUMN.METRIC] = ns per file, one value per repeat
for ((r = 0; r < REPEAT; r++)); do
  for ((k = 0; k < ${#columns[@]}; k++)); do
    col=${columns[(r + k) % ${#columns[@]}]}
    line=$("run_$col")
    echo "bench: run $((r + 1))/$REPEAT $col: $line" >&2
    for kv in $line; do
      key=${kv%%=*}
      if [[ " ${metrics[*]} " == *" $key "* ]]; then runs[$col.$key]+="${kv#*=} "; fi
    done
  done
done
for col in "${columns[@]}"; do
  for m in "${metrics[@]}"; do
    [[ -n ${runs[$col.$m]:-} ]] || { echo "bench: readloop printed no $m for $col" >&2; exit 1; }
  done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
stats() {  # stats VALUES -> "median min max" (ns)
  tr ' ' '\n' <<<"$1" | awk 'NF' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)], a[1], a[NR]}'
}
us() { awk -v n="$1" 'BEGIN { printf "%.2f", n / 1000 }'; }
declare -A med=() lo=() hi=()
for col in "${columns[@]}"; do
  for m in "${metrics[@]}"; do
    read -r "med[$col.$m]" "lo[$col.$m]" "hi[$col.$m]" < <(stats "${runs[$col.$m]}")
  done
done
cell() { printf '%s (%s–%s)' "$(us "${med[$1]}")" "$(us "${lo[$1]}")" "$(us "${hi[$1]}")"; }

printf '| read (hot cache, median of %s) | native | sandbox (overlay home) | native / sandbox |\n' "$ROUNDS"
printf '|---|---:|---:|---:|\n'
printf '| 1,000 files of 4 KiB | %s us | %s us | %s |\n' "$native_small" "$box_small" "$(ratio "$native_small" "$box_small")"
printf '| one 100 MiB file | %s us | %s us | %s |\n' "$native_big" "$box_big" "$(ratio "$native_big" "$box_big")"
echo
printf '| per-file syscall cost, us per file (median of %s rounds; median and range of %s runs) | native | sandbox (overlay home) | sandbox --home bind | bare overlayfs | native / sandbox | native / bind | native / bare overlayfs |\n' "$LOOP_ROUNDS" "$REPEAT"
printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
declare -A label=([stat]="stat" [open]="open + close" [read]="open + read to EOF + close")
for m in "${metrics[@]}"; do
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "${label[$m]}" \
    "$(cell "native.$m")" "$(cell "sandbox.$m")" "$(cell "bind.$m")" "$(cell "bare.$m")" \
    "$(ratio "${med[native.$m]}" "${med[sandbox.$m]}")" "$(ratio "${med[native.$m]}" "${med[bind.$m]}")" \
    "$(ratio "${med[native.$m]}" "${med[bare.$m]}")"
done
echo

# Is the sandbox's overlay home within run-to-run noise of the bare overlay? Each run measures
# both (in the rotation they are next to each other, so a slow spell of the machine tends to hit
# both); a metric is within noise when the runs disagree on which is faster, i.e. the range of
# the per-run ratios sandbox/bare contains 1. With no real difference, all REPEAT runs land on
# the same side with probability 2/2^REPEAT (1.6% for 7): a sign test. The bare overlay has no
# seccomp filter and no namespaces but the mount one, so the same ratios for bind/native follow:
# what the sandbox costs a syscall without any overlay. Then the same test on the per-run
# quotient (sandbox/bare) / (bind/native): within noise means the overlay costs inside the
# sandbox what it costs outside, the sandbox's own per-syscall cost aside.
per_run() {  # per_run METRIC COLUMN... -> one line per run: the values of those columns
  local m=$1 col joined=
  shift
  for col in "$@"; do joined+="${runs[$col.$m]}|"; done
  awk -v lists="$joined" -v want="$REPEAT" 'BEGIN {
    k = split(lists, l, "|") - 1
    for (c = 1; c <= k; c++) {
      if (split(l[c], t, " ") != want) exit 1
      for (r = 1; r <= want; r++) v[c, r] = t[r]
    }
    for (r = 1; r <= want; r++) { line = v[1, r]; for (c = 2; c <= k; c++) line = line " " v[c, r]; print line }
  }'
}
spread() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)], a[1], a[NR]}'; }  # unrounded
fmt() { awk -v x="$1" 'BEGIN { printf "%.2f", x }'; }
straddles() { awk -v lo="$1" -v hi="$2" 'BEGIN { exit !(lo <= 1 && hi >= 1) }'; }
ratios() {  # ratios METRIC EXPR COLUMN... -> "median min max" of EXPR over the runs ($1.. = columns)
  local m=$1 expr=$2 out
  shift 2
  if ! out=$(per_run "$m" "$@" | awk "{ print $expr }" | spread) || [[ -z $out ]]; then
    echo "bench: could not pair the runs of $* ($m)" >&2
    return 1
  fi
  echo "$out"
}
direct=() context=() outside=() differs=()
# shellcheck disable=SC2016  # awk expressions over the columns $1..$4
for m in "${metrics[@]}"; do
  r=$(ratios "$m" '$1 / $2' sandbox bare)
  read -r q lo_q hi_q <<<"$r"
  direct+=("${label[$m]} $(fmt "$q") ($(fmt "$lo_q")–$(fmt "$hi_q"))")
  straddles "$lo_q" "$hi_q" || outside+=("${label[$m]}")
  r=$(ratios "$m" '$1 / $2' bind native)
  read -r q lo_q hi_q <<<"$r"
  context+=("${label[$m]} $(fmt "$q") ($(fmt "$lo_q")–$(fmt "$hi_q"))")
  r=$(ratios "$m" '($1 / $2) / ($3 / $4)' sandbox bare bind native)
  read -r q lo_q hi_q <<<"$r"
  straddles "$lo_q" "$hi_q" || differs+=("${label[$m]}")
done
list() { local IFS=';' joined; joined="$*"; echo "${joined//;/, }"; }
if ((${#outside[@]} == 0)); then
  verdict="within run-to-run noise for all three (some runs faster in the sandbox, some on the bare overlay)"
else
  verdict="outside run-to-run noise for $(list "${outside[@]}") (all $REPEAT runs slower on one side)"
fi
if ((${#differs[@]} == 0)); then
  overlay_verdict="run by run, the two agree within noise for all three: the overlay costs inside the sandbox what it costs outside"
else
  overlay_verdict="run by run, they differ beyond noise for $(list "${differs[@]}"): the overlay costs more or less inside the sandbox than outside"
fi
printf '**Sandbox overlay home / bare overlayfs**, per file, median (range) of the %s runs: %s — %s. Sandbox --home bind / native: %s; %s.\n' \
  "$REPEAT" "$(list "${direct[@]}")" "$verdict" "$(list "${context[@]}")" "$overlay_verdict"
