#!/usr/bin/env bash
# The network tests' fake internet (root only): a network namespace `sbt-net`, joined to the
# host by a veth pair, that holds a real DNS server (dnsmasq, authoritative for `.test`) and
# TCP/UDP servers. The host routes the test prefixes through the veth, so that anything on the
# host (pasta, for a sandbox) reaches them with ordinary sockets.
#
#   tests/network/fixture.sh up       # (re)create it; prints what it made
#   tests/network/fixture.sh down     # remove everything it made
#   tests/network/fixture.sh status   # exit 0 when it is up and answers
#
#   link      host sbt-host 198.51.100.1/24 2001:db8:1::1/64  <->  sbt-peer 198.51.100.2 2001:db8:1::2
#   servers   203.0.113.{10,11,12,14,15,20,30} 2001:db8:2::{10,11,12,14,20,30} 10.1.2.3:
#             TCP 80 and 8080 ("hello ADDR PORT\n", then echo), UDP 5300 (echo); iperf3 -s on
#             203.0.113.10:5201 when iperf3 is installed
#   DNS       203.0.113.53 / 2001:db8:2::53, port 53, authoritative for .test (TTL 300):
#               allowed.test    203.0.113.10 2001:db8:2::10
#               sub.allowed.test 203.0.113.15
#               other.test      203.0.113.11 2001:db8:2::11
#               shortttl.test   203.0.113.14 2001:db8:2::14, TTL 1 s
#               a.wild.test     203.0.113.12 2001:db8:2::12
#               wild.test       203.0.113.12
#               blocked.test    203.0.113.20 2001:db8:2::20
#               rebind.test     127.0.0.1
#               lanrebind.test  10.1.2.3
#             every other .test name: NXDOMAIN; other domains: refused (no upstream)
#   host      routes 203.0.113.0/26 (not the whole /24: this machine's Debian mirror
#             deb.debian.org answers at 203.0.113.80), 2001:db8:2::/64 and 10.1.2.3/32 via the veth; nothing
#             else of the host (its resolv.conf, firewall, other routes) is touched
#   files     /run/sbt-net/: resolv.conf ("nameserver 203.0.113.53", for the tests to bind over
#             /etc/resolv.conf in a mount namespace of their own), logs, pid files
#
# 192.0.2.0/24 and fd00::/64 are this machine's uplink: not used here.
set -euo pipefail

NS=sbt-net
HOST_IF=sbt-host
PEER_IF=sbt-peer
RUN=/run/sbt-net
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

SERVER_ADDRS=(203.0.113.10 203.0.113.11 203.0.113.12 203.0.113.14 203.0.113.15 203.0.113.20
  203.0.113.30 10.1.2.3
  2001:db8:2::10 2001:db8:2::11 2001:db8:2::12 2001:db8:2::14 2001:db8:2::20 2001:db8:2::30)
DNS4=203.0.113.53
DNS6=2001:db8:2::53
ROUTES4=(203.0.113.0/26 10.1.2.3/32)
ROUTES6=(2001:db8:2::/64)

say() { printf 'fixture: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# Not root: exit 77, which CTest counts as skipped (SKIP_RETURN_CODE); the tests then skip too.
[[ $(id -u) == 0 ]] || { say "must run as root (it makes a network namespace and host routes): skipped"; exit 77; }
for tool in ip dnsmasq /usr/bin/python3; do
  command -v "$tool" >/dev/null || die "missing $tool (apt-get install iproute2 dnsmasq-base python3)"
done

in_ns() { ip netns exec "$NS" "$@"; }

kill_pidfile() {
  local f=$1 pid
  [[ -f $f ]] || return 0
  pid=$(cat "$f" 2>/dev/null || true)
  [[ $pid =~ ^[0-9]+$ ]] && kill "$pid" 2>/dev/null || true
  rm -f "$f"
}

down() {
  # Our servers by their pid files, then whatever else still runs in the namespace.
  local f
  for f in "$RUN"/*.pid; do [[ -e $f ]] && kill_pidfile "$f"; done
  if ip netns list | grep -qw "^$NS"; then
    local pids
    pids=$(ip netns pids "$NS" 2>/dev/null || true)
    [[ -n $pids ]] && kill $pids 2>/dev/null || true
    sleep 0.2
    pids=$(ip netns pids "$NS" 2>/dev/null || true)
    [[ -n $pids ]] && kill -9 $pids 2>/dev/null || true
    ip netns delete "$NS"
  fi
  # Deleting the namespace deletes the veth pair and with it the routes through it; a
  # half-made fixture may have left the host end alone.
  # (The kernel removes them a moment after `ip netns delete`.)
  ip link delete "$HOST_IF" 2>/dev/null || true
  wait_for 5 not_there ip link show "$HOST_IF" || die "$HOST_IF is still there"
  rm -rf "$RUN"
  return 0
}

wait_for() {  # wait_for SECONDS CMD...
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

not_there() { ! "$@"; }

nettool() { /usr/bin/python3 "$here/nettool.py" "$@"; }

answers_ok() {
  nettool "d,dns,allowed.test,A,$DNS4" | grep -q 'answers=203.0.113.10' &&
    nettool "t,tcp,203.0.113.10,80" | grep -q 'data=hello_203.0.113.10_80'
}

up() {
  down
  mkdir -p "$RUN"
  chmod 755 "$RUN"

  ip netns add "$NS"
  ip link add "$HOST_IF" type veth peer name "$PEER_IF"
  ip link set "$PEER_IF" netns "$NS"
  ip addr add 198.51.100.1/24 dev "$HOST_IF"
  ip -6 addr add 2001:db8:1::1/64 dev "$HOST_IF" nodad
  ip link set "$HOST_IF" up
  in_ns ip link set lo up
  in_ns ip addr add 198.51.100.2/24 dev "$PEER_IF"
  in_ns ip -6 addr add 2001:db8:1::2/64 dev "$PEER_IF" nodad
  in_ns ip link set "$PEER_IF" up
  local a
  for a in "${SERVER_ADDRS[@]}" "$DNS4" "$DNS6"; do
    if [[ $a == *:* ]]; then in_ns ip -6 addr add "$a/128" dev lo nodad; else in_ns ip addr add "$a/32" dev lo; fi
  done
  in_ns ip route add default via 198.51.100.1
  in_ns ip -6 route add default via 2001:db8:1::1
  local r
  for r in "${ROUTES4[@]}"; do ip route add "$r" via 198.51.100.2 dev "$HOST_IF"; done
  for r in "${ROUTES6[@]}"; do ip -6 route add "$r" via 2001:db8:1::2 dev "$HOST_IF"; done

  in_ns dnsmasq \
    --conf-file=/dev/null --no-resolv --no-hosts --no-poll --bind-interfaces \
    --listen-address="$DNS4" --listen-address="$DNS6" --port=53 \
    --local=/test/ --local-ttl=300 --user=nobody --group=nogroup \
    --host-record=allowed.test,203.0.113.10,2001:db8:2::10 \
    --host-record=sub.allowed.test,203.0.113.15 \
    --host-record=other.test,203.0.113.11,2001:db8:2::11 \
    --host-record=shortttl.test,203.0.113.14,2001:db8:2::14,1 \
    --host-record=a.wild.test,203.0.113.12,2001:db8:2::12 \
    --host-record=wild.test,203.0.113.12 \
    --host-record=blocked.test,203.0.113.20,2001:db8:2::20 \
    --host-record=rebind.test,127.0.0.1 \
    --host-record=lanrebind.test,10.1.2.3 \
    --log-queries --log-facility="$RUN/dnsmasq.log" \
    --pid-file="$RUN/dnsmasq.pid"

  # In a session of its own: nothing of the caller's (a CTest run) holds it or waits for it.
  in_ns setsid /usr/bin/python3 "$here/servers.py" --pidfile="$RUN/servers.pid" "${SERVER_ADDRS[@]}" \
    >"$RUN/servers.log" 2>&1 </dev/null &
  if command -v iperf3 >/dev/null; then
    in_ns iperf3 --server --daemon --bind 203.0.113.10 --port 5201 \
      --pidfile "$RUN/iperf3.pid" --logfile "$RUN/iperf3.log"
  fi

  printf 'nameserver %s\n' "$DNS4" >"$RUN/resolv.conf"
  chmod 644 "$RUN/resolv.conf"

  wait_for 10 grep -q ready "$RUN/servers.log" || die "servers did not start: $(cat "$RUN/servers.log")"
  wait_for 10 answers_ok || die "the fixture does not answer from the host (dnsmasq log: $(tail -5 "$RUN/dnsmasq.log" 2>/dev/null))"
  say "up: namespace $NS, DNS $DNS4, servers ${SERVER_ADDRS[*]}, resolv.conf $RUN/resolv.conf"
}

status() {
  ip netns list | grep -qw "^$NS" || die "namespace $NS missing"
  [[ -r $RUN/resolv.conf ]] || die "$RUN/resolv.conf missing"
  answers_ok || die "DNS or servers do not answer"
  say "up"
}

case ${1:-} in
  up) up ;;
  down) down; say "down" ;;
  status) status ;;
  *) die "usage: $0 up|down|status" ;;
esac
