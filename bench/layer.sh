#!/usr/bin/env bash
# `sandbox diff` and `sandbox commit` on a layer of 10,000 new files (100 directories of 100
# files) plus MODIFIED changed real files. Targets: diff under 0.2 s, commit under 1 s.
#
#   bench/layer.sh                        # as root (runs as `sandbox-bench`) or as a user
#   SANDBOX=/path/to/bin/sandbox RUNS=10 MODIFIED=1000 bench/layer.sh
#
# The layer is made by a real sandbox (app `bench-layer`) in a scratch home, so it is in
# overlayfs's own format. diff is timed RUNS times on the same layer; every commit run starts
# from a freshly made layer and real home (hyperfine --prepare), so only the commit is timed.
# Uses hyperfine when it is installed, else a loop of `date +%s%N` (median).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
RUNS=${RUNS:-10}
MODIFIED=${MODIFIED:-1000}
SANDBOX=${SANDBOX:-$repo/build/bin/sandbox}
[[ -x $SANDBOX ]] || { echo "bench: no sandbox binary at $SANDBOX (set SANDBOX)" >&2; exit 1; }
SANDBOX=$(readlink -f "$SANDBOX")
say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

if [[ $(id -u) == 0 ]]; then
  # The sandbox is for unprivileged users: measure as one, with a copy of the build it can reach.
  user=${BENCH_USER:-sandbox-bench}
  id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
  stage=$(mktemp -d /var/tmp/sandbox-bench.XXXXXX)
  trap 'rm -rf "$stage"' EXIT
  cp -a "$(dirname "$(dirname "$SANDBOX")")"/{bin,share} "$stage"/ 2>/dev/null || cp -a "$(dirname "$SANDBOX")" "$stage/bin"
  cp "$here/layer.sh" "$stage/layer.sh"
  chmod -R a+rX "$stage"
  home=$(getent passwd "$user" | cut -d: -f6)
  runuser -u "$user" -- env -i HOME="$home" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
    SANDBOX="$stage/bin/sandbox" RUNS="$RUNS" MODIFIED="$MODIFIED" bash "$stage/layer.sh"
  exit
fi

# A scratch home: the layer lives in it ($HOME/.local/share/sandbox/bench-layer), as it would.
scratch=$(mktemp -d "$HOME/.sandbox-bench-layer.XXXXXX")
trap 'chmod -R u+rwX "$scratch" 2>/dev/null; rm -rf "$scratch"' EXIT
export HOME=$scratch
app=bench-layer

if out=$("$SANDBOX" diff "$app" 2>&1); [[ $out == *"not implemented yet"* ]]; then
  die "sandbox diff/commit are not wired into this build's command line yet"
fi

# Makes the real home and the layer from scratch: MODIFIED real files that the app appends to,
# and 100 x 100 new files.
prepare=$scratch/prepare.sh
cat > "$prepare" <<EOF
set -e
export HOME=$scratch
"$SANDBOX" reset -y $app >/dev/null 2>&1 || true
rm -rf "$scratch/many" "$scratch/real"
mkdir -p "$scratch/real"
for i in \$(seq $MODIFIED); do echo orig > "$scratch/real/f\$i"; done
"$SANDBOX" run --name $app -- /bin/sh -c '
  for d in \$(seq 100); do
    mkdir -p ~/many/d\$d
    for f in \$(seq 100); do echo "\$d-\$f" > ~/many/d\$d/f\$f; done
  done
  for i in \$(seq $MODIFIED); do echo changed >> ~/real/f\$i; done'
sync
EOF

say "making the layer (10,000 new files, $MODIFIED modified)"
bash "$prepare"
"$SANDBOX" diff --stat "$app" >&2

median_of() {  # runs "$@" RUNS times (with $PREP before each when set), prints the median in s
  local t0 t1 i
  for ((i = 0; i < RUNS; i++)); do
    [[ -n ${PREP:-} ]] && bash "$PREP" >/dev/null 2>&1
    t0=$(date +%s%N)
    "$@" >/dev/null
    t1=$(date +%s%N)
    echo $((t1 - t0))
  done | sort -n | awk '{a[NR]=$1} END {printf "%.3f\n", a[int((NR+1)/2)] / 1e9}'
}

if command -v hyperfine >/dev/null; then
  json=$scratch/hf.json
  hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$json.diff" \
    -n diff "$SANDBOX diff $app" >/dev/null 2>&1
  hyperfine -N --runs "$RUNS" --prepare "bash $prepare" --export-json "$json.commit" \
    -n commit "$SANDBOX commit $app" >/dev/null 2>&1
  med() { python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$1"; }
  diff_s=$(med "$json.diff")
  commit_s=$(med "$json.commit")
  tool=$(hyperfine --version)
else
  diff_s=$(median_of "$SANDBOX" diff "$app")
  commit_s=$(PREP=$prepare median_of "$SANDBOX" commit "$app")
  tool="a date +%s%N loop"
fi

verdict() { awk -v t="$1" -v max="$2" 'BEGIN { print (t < max ? "meets" : "misses") }'; }
echo "Layer benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) cores,"
echo "filesystem $(stat -f -c %T "$scratch") under $HOME; $RUNS runs, medians, measured with $tool."
echo
echo "| command (10,000 new files, $MODIFIED modified) | median | target | |"
echo "|---|---:|---:|---|"
echo "| sandbox diff | ${diff_s} s | < 0.2 s | $(verdict "$diff_s" 0.2) |"
echo "| sandbox commit | ${commit_s} s | < 1 s | $(verdict "$commit_s" 1) |"
