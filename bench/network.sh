#!/usr/bin/env bash
# What the filtered network costs: TCP throughput (iperf3), TCP connect latency and DNS answer
# latency to a test host, from (a) the host, (b) bare pasta with no rules, (c) `sandbox run
# --net filtered --allow allowed.test`, in one run, as an unprivileged user. See bench/README.md.
#
#   bench/network.sh                                  # as root
#   SANDBOX=/path/to/bin/sandbox OUT=/tmp/results IPERF_SECONDS=10 REPEAT=5 bench/network.sh
#
# Root is needed for the test network (tests/network/fixture.sh: a network namespace behind a
# veth pair with dnsmasq, TCP servers and iperf3 -s; the host routes 203.0.113.0/24 to it) and
# for a mount namespace in which /etc/resolv.conf names that dnsmasq, so that the sandbox's
# resolver forwards there. The measurements themselves run as the user `sandbox-bench`
# (created when missing). The host's /etc/resolv.conf, firewall and other routes are untouched.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
fixture=$repo/tests/network/fixture.sh
nettool=$repo/tests/network/nettool.py
OUT=${OUT:-$here/results}
BENCH_USER=${BENCH_USER:-sandbox-bench}
IPERF_SECONDS=${IPERF_SECONDS:-5}
CONNECTS=${CONNECTS:-200}
QUERIES=${QUERIES:-200}
REPEAT=${REPEAT:-3}
TARGET=allowed.test       # 203.0.113.10: TCP 80, iperf3 5201
TARGET_ADDR=203.0.113.10
DNS_SERVER=203.0.113.53   # the fixture's dnsmasq

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# ---- Inner part: in a mount namespace of our own (see the end of the file).
if [[ ${1:-} == --inner ]]; then
  mount --bind /run/sbt-net/resolv.conf "$(readlink -f /etc/resolv.conf)"
  bench_home=$(getent passwd "$BENCH_USER" | cut -d: -f6)
  as_user() {
    runuser -u "$BENCH_USER" -- env -i -C "$bench_home" HOME="$bench_home" USER="$BENCH_USER" \
      LOGNAME="$BENCH_USER" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 "$@"
  }
  tool=$(cat "$nettool")
  pasta_cmd=(pasta --config-net --quiet -t none -u none -T none -U none --no-map-gw --)
  sandbox_cmd=("$SANDBOX" run -p default --net filtered --allow "$TARGET" --)

  # One way to run a command: host | pasta | sandbox.
  via() {
    local how=$1; shift
    case $how in
      host) as_user "$@" ;;
      pasta) as_user "${pasta_cmd[@]}" "$@" 2> >(grep -v 'syslog' >&2) ;;
      sandbox) as_user "${sandbox_cmd[@]}" "$@" ;;
    esac
  }
  field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" | head -1; }
  iperf_gbits() {  # via HOW [-R]: Gbit/s received
    local json
    json=$(via "$1" iperf3 --client "$2" --port 5201 --time "$IPERF_SECONDS" --json ${3:+"$3"}) ||
      { say "iperf3 failed via $1: $json"; echo "-"; return; }
    python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))' <<<"$json"
  }

  # REPEAT rounds, the three columns interleaved in each, so that a burst of load elsewhere
  # hits every column alike; each figure is the median over the rounds.
  declare -A r
  add() { r[$1]="${r[$1]:-} $2"; }
  for ((round = 1; round <= REPEAT; round++)); do
    for how in host pasta sandbox; do
      host=$TARGET_ADDR
      [[ $how == sandbox ]] && host=$TARGET   # through the sandbox's resolver, as an app would
      say "round $round/$REPEAT, $how: iperf3 up and down (${IPERF_SECONDS}s each), $CONNECTS connects, $QUERIES DNS queries"
      add "$how,up" "$(iperf_gbits "$how" "$host")"
      add "$how,down" "$(iperf_gbits "$how" "$host" -R)"
      line=$(via "$how" python3 -c "$tool" "c,connectloop,$host,80,$CONNECTS")
      [[ $line == *ok=1* ]] || say "connect loop via $how: $line"
      add "$how,conn" "$(field median <<<"$line")"
      add "$how,conn90" "$(field p90 <<<"$line")"
      # DNS: the host and bare pasta ask dnsmasq directly; the sandbox asks its resolver
      # (127.0.0.1, sandbox-net), which forwards to dnsmasq.
      if [[ $how == sandbox ]]; then dns_op="d,dnsloop,$TARGET,$QUERIES"; else dns_op="d,dnsloop,$TARGET,$QUERIES,$DNS_SERVER"; fi
      line=$(via "$how" python3 -c "$tool" "$dns_op")
      [[ $line == *ok=1* ]] || say "DNS loop via $how: $line"
      add "$how,dns" "$(field median <<<"$line")"
      add "$how,dns90" "$(field p90 <<<"$line")"
    done
  done
  median_of() {  # FORMAT WORDS: the median of the numbers among the words; "-" when none
    python3 -c 'import statistics, sys
v = [float(x) for x in sys.argv[2:] if x not in ("", "-")]
print(sys.argv[1] % statistics.median(v) if v else "-")' "$1" $2
  }
  for key in "${!r[@]}"; do
    r[$key,all]=${r[$key]# }
    case $key in *,up|*,down) fmt=%.2f ;; *) fmt=%.3f ;; esac
    r[$key]=$(median_of "$fmt" "${r[$key]}")
  done

  ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
  row() {  # label key
    printf '| %s | %s | %s | %s | %s |\n' "$1" "${r[host,$2]:--}" "${r[pasta,$2]:--}" "${r[sandbox,$2]:--}" \
      "$(ratio "${r[sandbox,$2]:-}" "${r[pasta,$2]:-}")"
  }
  {
    echo "# Network benchmark"
    echo
    echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo),"
    echo "kernel $(uname -r), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"); user $BENCH_USER (uid $(id -u "$BENCH_USER"))."
    echo "Tools: $("$SANDBOX" --version 2>/dev/null || echo sandbox), pasta $(dpkg-query -W -f '${Version}' passt 2>/dev/null || echo '?'), $(iperf3 --version | head -1 | awk '{print $1, $2}')."
    echo "Target: $TARGET ($TARGET_ADDR) in the test network namespace behind a veth pair; DNS: dnsmasq at $DNS_SERVER."
    echo "Each figure is the median of $REPEAT rounds (the columns interleaved in each round)."
    echo "iperf3 ${IPERF_SECONDS}s per direction (one stream); connect latency: median and p90 of $CONNECTS"
    echo "connect()s; DNS: median and p90 of $QUERIES A queries (host and bare pasta ask dnsmasq"
    echo "directly, the sandbox asks its resolver at 127.0.0.1, which checks the name, forwards to"
    echo "dnsmasq and adds the answer to the nftables set before answering)."
    echo
    echo "| metric | host | bare pasta | sandbox --net filtered | filtered / bare pasta |"
    echo "|---|---:|---:|---:|---:|"
    row "TCP throughput, upload (Gbit/s)" up
    row "TCP throughput, download (Gbit/s)" down
    row "TCP connect, median (ms)" conn
    row "TCP connect, p90 (ms)" conn90
    row "DNS answer, median (ms)" dns
    row "DNS answer, p90 (ms)" dns90
    echo
    echo "Every round (host / bare pasta / sandbox):"
    echo
    for key in up down conn dns; do
      echo "* $key: ${r[host,$key,all]:-} / ${r[pasta,$key,all]:-} / ${r[sandbox,$key,all]:-}"
    done
  } >"$OUT/network.md"
  cat "$OUT/network.md"
  exit 0
fi

# ---- Outer part (root): tools, user, binary, test network.
[[ $(id -u) == 0 ]] || die "needs root: it makes the test network (a network namespace and routes); it measures as $BENCH_USER"
for t in iperf3 pasta dnsmasq python3 unshare runuser; do
  command -v "$t" >/dev/null || die "missing $t (apt-get install iperf3 passt dnsmasq-base python3 util-linux)"
done

# The binary, the bench user and a copy of the binary it can reach (bench/lib.sh).
source "$here/lib.sh"
[[ -x $(dirname "$SANDBOX")/sandbox-net ]] || die "no sandbox-net next to $SANDBOX: --net filtered needs it"
stage_sandbox

fixture_made=0
cleanup() {
  ((fixture_made)) && "$fixture" down >/dev/null 2>&1
  ((${#cleanup_dirs[@]})) && rm -rf -- "${cleanup_dirs[@]}"
  return 0
}
trap cleanup EXIT

# The test network: reused when it is already up (a test run may be using it), else made here
# and removed at the end.
if "$fixture" status >/dev/null 2>&1; then
  say "the test network is already up: using it, leaving it up"
else
  fixture_made=1
  "$fixture" up
fi
"$fixture" status >/dev/null 2>&1 || die "the test network does not answer"
mkdir -p "$OUT"

# Everything else in a mount namespace whose /etc/resolv.conf is the test network's.
SANDBOX=$SANDBOX OUT=$(readlink -f "$OUT") unshare --mount --propagation slave "$0" --inner
