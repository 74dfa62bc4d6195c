#!/usr/bin/env bash
# Startup cost of `sandbox` next to bubblewrap (and firejail when it is installed and works),
# measured with hyperfine in one run, as an unprivileged user. See bench/README.md.
#
#   bench/startup.sh                      # as root or as an ordinary user
#   SANDBOX=/path/to/bin/sandbox OUT=/tmp/results RUNS=500 bench/startup.sh
#
# As root, the measurements run as the user `sandbox-bench` (created when missing): the
# sandbox is for unprivileged users, and root would take other code paths in the kernel.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # SANDBOX, the bench user, as_user, stage_sandbox
RUNS=${RUNS:-200}
WARMUP=${WARMUP:-20}
# hyperfine times one command's runs, then the next's; on a small VM the machine drifts by
# 10-20% within seconds, which then decides the ratio. So the runs are split into ROUNDS
# hyperfine calls, each with the commands in a rotated order, and every run of every round is
# pooled before the medians are taken.
ROUNDS=${ROUNDS:-5}
OUT=${OUT:-$here/results}

# BWRAP: another bubblewrap than the one on PATH, e.g. a newer one built from Debian 13's
# source package, to compare overlay home with overlay home (bench/README.md).
BWRAP=${BWRAP:-bwrap}
if [[ $BWRAP == bwrap ]]; then need_tools hyperfine:hyperfine bwrap:bubblewrap; else need_tools hyperfine:hyperfine; fi
[[ -x $(command -v "$BWRAP") ]] || die "no bwrap at $BWRAP"
command -v jq >/dev/null || need_tools python3:python3
# The binary finds its profiles at <exe>/../share/sandbox: both must be reachable by the user.
stage_sandbox

# hyperfine writes its exports into a directory the bench user owns; they are copied to $OUT.
work=$(mktemp -d /tmp/sandbox-bench-out.XXXXXX)
cleanup_dirs+=("$work")
[[ $(id -u) == 0 ]] && chown "$bench_user:" "$work"

# ---- The commands.
notes=()
bare=(/bin/true)
sbx=("$SANDBOX" run -p default -- /bin/true)

# bubblewrap with the isolation `sandbox run -p default` has (minus seccomp, which bwrap only
# loads from a precompiled fd): the same namespaces, the system read-only, merged-/usr links,
# fresh /proc /dev /tmp /var/tmp /run, a copy-on-write home when bwrap can, a new session.
bw=("$BWRAP" --unshare-user --unshare-pid --unshare-ipc --unshare-uts --unshare-net --unshare-cgroup
    --hostname default)
for d in usr etc opt srv var; do
  [[ -d /$d && ! -L /$d ]] && bw+=(--ro-bind "/$d" "/$d")
done
for l in bin sbin lib lib32 lib64 libx32; do
  if [[ -L /$l ]]; then
    bw+=(--symlink "$(readlink "/$l")" "/$l")
  elif [[ -d /$l ]]; then
    bw+=(--ro-bind "/$l" "/$l")
  fi
done
bw+=(--proc /proc --dev /dev --tmpfs /tmp --tmpfs /run)
[[ -d /var && ! -L /var ]] && bw+=(--tmpfs /var/tmp)
bw_tail=(--new-session --die-with-parent --cap-drop ALL /bin/true)
bw_common=("${bw[@]:1}")
bw_version=$("$BWRAP" --version 2>/dev/null | awk '{print $2}')
bw_home_mode="tmpfs"
if "$BWRAP" --help 2>&1 | grep -q -- '--overlay-src'; then
  # A persistent layer on disk, as sandbox's overlay home has.
  layer=$(as_user mktemp -d "$bench_home/.bwrap-bench-layer.XXXXXX")
  cleanup_dirs+=("$layer")
  as_user mkdir -p "$layer/upper" "$layer/work"
  try=("${bw[@]}" --overlay-src "$bench_home" --overlay "$layer/upper" "$layer/work" "$bench_home" "${bw_tail[@]}")
  if as_user "${try[@]}" 2>/dev/null; then
    bw=("${try[@]}")
    bw_home_mode="overlay"
  else
    notes+=("bwrap $bw_version has --overlay but it failed here; bwrap used a tmpfs home")
  fi
else
  notes+=("bwrap $bw_version has no --overlay (added in 0.10.0): bwrap used a tmpfs home, sandbox an overlay home, so bwrap does less work")
fi
[[ $bw_home_mode == tmpfs ]] && bw+=(--tmpfs "$bench_home" "${bw_tail[@]}")

# With another bwrap in BWRAP, the system's one is timed too (as it can: tmpfs home on
# Debian 12's 0.8), so that one run shows both comparisons.
bws=()
if [[ $BWRAP != bwrap ]] && command -v bwrap >/dev/null; then
  bws=(bwrap "${bw_common[@]}")
  if bwrap --help 2>&1 | grep -q -- '--overlay-src' && [[ $bw_home_mode == overlay ]]; then
    bws+=(--overlay-src "$bench_home" --overlay "$layer/upper" "$layer/work" "$bench_home" "${bw_tail[@]}")
    bws_home=overlay
  else
    bws+=(--tmpfs "$bench_home" "${bw_tail[@]}")
    bws_home=tmpfs
  fi
  bws_version=$(bwrap --version 2>/dev/null | awk '{print $2}')
fi

fj=(firejail --quiet --noprofile --private --net=none /bin/true)

# Every command must work once before it is timed.
as_user "${bare[@]}" || die "/bin/true failed as $bench_user"
if ! err=$(as_user "${sbx[@]}" 2>&1); then die "sandbox failed as $bench_user: $err"; fi
if ! err=$(as_user "${bw[@]}" 2>&1); then die "bwrap failed as $bench_user: $err"; fi
if ((${#bws[@]})) && ! err=$(as_user "${bws[@]}" 2>&1); then die "the system's bwrap failed as $bench_user: $err"; fi
have_fj=0
if command -v firejail >/dev/null; then
  if err=$(as_user "${fj[@]}" 2>&1); then
    have_fj=1
  else
    notes+=("firejail is installed but does not work here (it is setuid; containers often forbid that): ${err%%$'\n'*}")
  fi
else
  notes+=("firejail is not installed: no firejail column (apt-get install firejail)")
fi
for n in "${notes[@]}"; do say "$n"; done

# ---- ROUNDS hyperfine runs. -N: no intermediate shell (hyperfine >= 1.13).
words() { local out="" w; for w in "$@"; do out+="${out:+ }$(printf '%q' "$w")"; done; printf '%s' "$out"; }
shell_opt=()
if hyperfine --help 2>&1 | grep -q -- '--shell'; then
  shell_opt=(-N)
else
  notes+=("this hyperfine has no --shell=none: it ran each command through a shell and subtracted the shell's cost")
fi
cmds=(bare "$(words "${bare[@]}")" sandbox "$(words "${sbx[@]}")" bwrap "$(words "${bw[@]}")")
((${#bws[@]})) && cmds+=(bwrap-system "$(words "${bws[@]}")")
((have_fj)) && cmds+=(firejail "$(words "${fj[@]}")")
ncmd=$((${#cmds[@]} / 2))
per_round=$(( (RUNS + ROUNDS - 1) / ROUNDS ))

say "measuring as $bench_user: $ROUNDS rounds of $per_round runs each (after $WARMUP warmup runs), commands rotated"
for ((r = 0; r < ROUNDS; r++)); do
  hf=(hyperfine "${shell_opt[@]}" --warmup "$WARMUP" --runs "$per_round"
      --export-json "$work/round$r.json" --export-markdown "$work/round$r.md")
  for ((k = 0; k < ncmd; k++)); do
    i=$(( (k + r) % ncmd ))
    hf+=(-n "${cmds[2 * i]}" "${cmds[2 * i + 1]}")
  done
  as_user "${hf[@]}" >&2
done

# ---- Results: every run of every round, per command.
need_tools python3:python3
python3 - "$work" "$ROUNDS" >"$work/pooled.tsv" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
times, order = {}, []
for r in range(rounds):
    for res in json.load(open(f"{work}/round{r}.json"))["results"]:
        name = res["command"]
        if name not in times:
            times[name] = []
            order.append(name)
        times[name] += res["times"]
json.dump({"rounds": rounds, "times": times}, open(f"{work}/startup.json", "w"))
for name in ["bare", "sandbox", "bwrap", "bwrap-system", "firejail"]:
    if name in times:
        t = times[name]
        print(f"{name}\t{statistics.median(t)}\t{statistics.mean(t)}\t{statistics.pstdev(t)}\t{len(t)}")
PY
cat "$work"/round*.md >"$work/startup.md"
mkdir -p "$OUT"
cp "$work/startup.json" "$work/startup.md" "$OUT/"

medians() { cat "$work/pooled.tsv"; }  # "name<TAB>median_s<TAB>mean_s<TAB>stddev_s<TAB>runs"

declare -A median
rows=""
while IFS=$'\t' read -r name med mean sd _; do
  median[$name]=$med
  rows+=$(awk -v n="$name" -v m="$med" -v a="$mean" -v s="$sd" \
            'BEGIN { printf "| %s | %.2f | %.2f ± %.2f |\n", n, m*1000, a*1000, s*1000 }')$'\n'
done < <(medians)
ratio=$(awk -v a="${median[sandbox]}" -v b="${median[bwrap]}" 'BEGIN { printf "%.2f", a/b }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 1.1 ? "meets the target (<= 1.10)" : "misses the target (<= 1.10)") }')

{
  echo "# Startup benchmark"
  echo
  echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo),"
  echo "kernel $(uname -r), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"); user $bench_user (uid $(id -u "$bench_user"))."
  echo "Tools: $("$SANDBOX" --version 2>/dev/null), bubblewrap $bw_version (home: $bw_home_mode), $(hyperfine --version)$( ((have_fj)) && echo ", $(firejail --version 2>/dev/null | head -1)")."
  echo "$((per_round * ROUNDS)) runs per command in $ROUNDS rounds (commands rotated each round, $WARMUP warmup runs each), medians of every run's wall time."
  echo
  echo "| command | median (ms) | mean ± σ (ms) |"
  echo "|---|---:|---:|"
  printf '%s' "$rows"
  echo
  echo "sandbox / bwrap (medians): **$ratio** — $verdict"
  if ((${#bws[@]})); then
    echo
    echo "sandbox / bwrap-system (the system's bubblewrap $bws_version, home: $bws_home): $(awk -v a="${median[sandbox]}" -v b="${median[bwrap-system]}" 'BEGIN { printf "%.2f", a/b }')"
  fi
  if ((${#notes[@]})); then
    echo
    for n in "${notes[@]}"; do echo "* $n"; done
  fi
} >"$work/summary.md"
cp "$work/summary.md" "$OUT/"

echo
cat "$work/summary.md"
say "results in $OUT (summary.md, startup.json, startup.md)"
