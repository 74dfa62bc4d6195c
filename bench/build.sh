#!/usr/bin/env bash
# A real build sandboxed against the same build bare, in one run: the fixture project
# (tests/fixtures/ci-project) built from clean with `make`, bare, under `sandbox run -p ci`, and
# under bubblewrap with the same isolation. Target: sandbox at most 1.03 x bare.
#
#   bench/build.sh                       # as root (runs as sandbox-bench) or as a user
#   SANDBOX=/path/to/bin/sandbox RUNS=20 SCALE=64 bench/build.sh
#
# SCALE copies of the project's sources are built (one make, -j$(nproc)), so that a run takes
# long enough (about a second on 2 cores) for a few milliseconds of launch to be measured fairly.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RUNS=${RUNS:-15}
SCALE=${SCALE:-32}
need_tools hyperfine:hyperfine bwrap:bubblewrap make:make cc:gcc
stage_sandbox

ws=$(mktemp -d /var/tmp/sandbox-bench-build.XXXXXX)
cleanup_dirs+=("$ws")
fixture=$repo/tests/fixtures/ci-project
# SCALE copies of the sources, each its own program, built by one Makefile.
{
  echo "CC ?= cc"
  echo "CFLAGS ?= -O2"
  echo "all:"
  for i in $(seq "$SCALE"); do
    echo "all: p$i/hello"
    echo "p$i/hello: p$i/main.c p$i/greet.c p$i/checksum.c p$i/greet.h"
    echo "	\$(CC) \$(CFLAGS) -o \$@ p$i/main.c p$i/greet.c p$i/checksum.c"
  done
  echo "clean:"
  echo "	rm -f p*/hello"
} > "$ws/Makefile"
for i in $(seq "$SCALE"); do mkdir -p "$ws/p$i" && cp "$fixture"/*.c "$fixture"/*.h "$ws/p$i/"; done
[[ $(id -u) == 0 ]] && chown -R "$bench_user:" "$ws"
chmod 755 "$ws"

jobs=$(nproc)
bwrap_base
bw+=(--bind "$ws" "$ws" --chdir "$ws" make -s -j"$jobs")
words() { local out="" w; for w in "$@"; do out+="${out:+ }$(printf '%q' "$w")"; done; printf '%s' "$out"; }
export AS_USER_CWD=$ws
as_user make -s -j"$jobs" >/dev/null || die "the bare build failed"
as_user "$SANDBOX" run -p ci -- make -s -j"$jobs" clean all 2>/dev/null >/dev/null || die "the sandboxed build failed"
as_user "${bw[@]}" >/dev/null || die "the bwrap build failed"
out=$(mktemp -d /tmp/sandbox-bench-build-out.XXXXXX)
cleanup_dirs+=("$out")
[[ $(id -u) == 0 ]] && chown "$bench_user:" "$out"
say "building $SCALE copies of the fixture, $RUNS runs each"
as_user hyperfine -N --warmup 2 --runs "$RUNS" --prepare "make -s clean" --export-json "$out/build.json" \
  -n bare "make -s -j$jobs" \
  -n sandbox "$(words "$SANDBOX" run -p ci -- make -s -j"$jobs")" \
  -n bwrap "$(words "${bw[@]}")" >&2

python3 - "$out/build.json" <<'EOF'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
bare = r["bare"]["median"]
print("| build of the fixture (make -j, from clean) | median (s) | / bare |")
print("|---|---:|---:|")
for name in ("bare", "sandbox", "bwrap"):
    m = r[name]["median"]
    print(f"| {name} | {m:.3f} | {m / bare:.3f} |")
ratio = r["sandbox"]["median"] / bare
print()
print(f"sandbox / bare = {ratio:.3f}: {'meets' if ratio <= 1.03 else 'misses'} the target (<= 1.03)")
EOF
