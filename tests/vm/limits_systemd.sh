#!/usr/bin/env bash
# vm test (--systemd): with a real user manager (user@UID.service) and session bus, `sandbox`
# puts each sandbox in a transient scope sandbox-APP-xxxxxx.scope made over D-Bus, with the
# limits as unit properties: a memory hog is killed at its limit, the scope is collected after.
# Also measures the launch time the scope adds.
#   limits_systemd.sh PATH/TO/sandbox PATH/TO/share/sandbox
set -u
. "$(dirname "$0")/lib.sh"

case "${1:-}" in
--guest)
  stage=$(mktemp -d /tmp/sandbox-vm.XXXXXX)
  mkdir -p "$stage/bin" "$stage/share"
  cp "$2" "$stage/bin/sandbox" && cp -r "$3" "$stage/share/sandbox" && chmod -R a+rX "$stage"
  check "the user part passes" vm_user_part "$stage/bin/sandbox"
  vm_finish guest
  ;;
--user)
  S=$2
  out=$("$S" run -v --memory 50M -- sh -c 'cat /proc/self/cgroup; python3 -c "x = bytearray(200 * 1024 * 1024)"' 2>&1)
  rc=$?
  echo "$out" | grep -v "stage "
  check_eq "memory hog: exit status" 137 "$rc"
  check "backend: a systemd user scope" grep -q "limits: systemd user scope sandbox-default-" <<<"$out"
  check "the launcher says the limit was reached" grep -q "memory limit 50M reached" <<<"$out"
  peak=$(sed -n 's/.*peak memory \([0-9]*\)\..*/\1/p' <<<"$out")
  check_le "peak memory (MiB) never above the limit" "$peak" 50
  sleep 1
  left=$(systemctl --user list-units --all --no-legend 'sandbox-*.scope' | wc -l)
  check_eq "the scope is collected after exit" 0 "$left"

  # The launch time the scope adds: medians of 15 runs, with and without limits.
  median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  t() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000 )); }
  plain=$(for i in $(seq 15); do t "$S" run -- /bin/true; done | median)
  scoped=$(for i in $(seq 15); do t "$S" run --memory 1G -- /bin/true; done | median)
  echo "launch median: no limits ${plain} us, systemd scope ${scoped} us (extra $((scoped - plain)) us, in a TCG VM)"
  vm_finish user
  ;;
*)
  [ $# -eq 2 ] || { echo "usage: $0 PATH/TO/sandbox PATH/TO/share/sandbox" >&2; exit 2; }
  bin=$(realpath "$1") share=$(realpath "$2")
  [ -x "$bin" ] || { echo "no launcher at $bin (build it first)" >&2; exit 1; }
  vm_boot --systemd --timeout "${VM_TIMEOUT:-300}" -- bash "$VM_SELF" --guest "$bin" "$share"
  ;;
esac
