#!/usr/bin/env bash
# Every benchmark of the project in one run, side by side with bubblewrap and firejail where
# they do the same thing, written to bench/RESULTS.md with the machine, the date and the ratios:
#
#   launch latency          startup.sh     sandbox / bwrap / firejail, `run -- /bin/true`
#   supervisor memory,      concurrent.sh  PSS of the processes that watch one sandbox; N
#   N concurrent sandboxes                 sandboxes started at once (time, memory)
#   overlay I/O             overlay_reads.sh, layer.sh   reads in the overlay home; diff, commit
#   network throughput      network.sh     filtered vs bare pasta vs host (iperf3, connect, DNS)
#   a real build            build.sh       the fixture project, sandboxed vs bare vs bwrap
#
#   bench/all.sh                          # as root: installs tools, measures as sandbox-bench
#   SANDBOX=/path/to/bin/sandbox OUT=/tmp/RESULTS.md bench/all.sh
#   BWRAP=/path/to/bwrap bench/all.sh     # a bubblewrap >= 0.10 for startup.sh (overlay home)
#
# Run it on a quiet machine: on 2 cores anything else running moves the ratios by 10% or more.
# A benchmark that cannot run here (no pasta, no root for the network fixture) is reported as
# skipped with its reason; the others still run.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
OUT=${OUT:-$here/RESULTS.md}
if [[ -z ${SANDBOX:-} ]]; then
  for candidate in ./build/bin/sandbox "$repo/build/bin/sandbox"; do
    [[ -x $candidate ]] && { SANDBOX=$(readlink -f "$candidate"); break; }
  done
fi
[[ -n ${SANDBOX:-} ]] || { echo "bench: build first (cmake -S . -B build && cmake --build build) or set SANDBOX" >&2; exit 1; }
export SANDBOX

tmp=$(mktemp -d /tmp/sandbox-bench-all.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

section() {  # section TITLE SCRIPT [ENV=VALUE...]
  local title=$1 script=$2
  shift 2
  echo "bench: == $title ($script)" >&2
  # OUT is all.sh's own (a file); each script gets only what the caller gives it here.
  if env -u OUT "$@" bash "$here/$script" >"$tmp/out" 2>"$tmp/err"; then
    { echo "## $title"; echo; echo "\`bench/$script\`"; echo; cat "$tmp/out"; echo; } >>"$tmp/report"
  else
    { echo "## $title"; echo; echo "\`bench/$script\` did not run here:"; echo;
      echo '```'; tail -5 "$tmp/err"; echo '```'; echo; } >>"$tmp/report"
  fi
}

: >"$tmp/report"
section "Launch latency" startup.sh OUT="$tmp/startup" RUNS="${RUNS:-200}"
section "Supervisor memory and concurrent sandboxes" concurrent.sh N="${N:-100}"
section "Overlay home: reads" overlay_reads.sh
section "Overlay home: diff and commit" layer.sh
section "Network" network.sh
section "A real build" build.sh

{
  echo "# Benchmark results"
  echo
  echo "Made by \`bench/all.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'): $(nproc) cores,"
  echo "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo),"
  echo "kernel $(uname -r), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME");"
  echo "$("$SANDBOX" --version), $(bwrap --version 2>/dev/null || echo 'no bwrap')$([[ -n ${BWRAP:-} ]] && echo " (and $("$BWRAP" --version) at $BWRAP for the launch)"), $(firejail --version 2>/dev/null | head -1 || echo 'no firejail')."
  echo "Every ratio compares medians measured in the same run. Targets: launch <= 1.10 x bwrap;"
  echo "overlay reads >= 0.95 x native; filtered network >= 0.9 x bare pasta; build <= 1.03 x bare."
  echo
  cat "$tmp/report"
} >"$OUT"
cat "$OUT"
echo "bench: written to $OUT" >&2
