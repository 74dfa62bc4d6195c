#!/usr/bin/env bash
# vm test: `sandbox` applies limits in a delegated cgroup v2 subtree (busybox init; the test
# user owns /sys/fs/cgroup/sandbox-test, its shell in a leaf under it): a memory hog is killed
# at its limit inside the sandbox only, a fork bomb stops at pids, cpu 0.5 holds usage near
# half a core, the timeout fires, and nothing is left in the cgroup tree.
#   limits_delegated.sh PATH/TO/sandbox PATH/TO/share/sandbox
set -u
. "$(dirname "$0")/lib.sh"

stage_launcher() {  # world-readable copy, the layout the launcher finds its profiles by
  local bin=$1 share=$2 stage
  stage=$(mktemp -d /tmp/sandbox-vm.XXXXXX)
  mkdir -p "$stage/bin" "$stage/share"
  cp "$bin" "$stage/bin/sandbox" && cp -r "$share" "$stage/share/sandbox" && chmod -R a+rX "$stage"
  echo "$stage/bin/sandbox"
}

case "${1:-}" in
--guest)
  bin=$(stage_launcher "$2" "$3")
  check "the user part passes" vm_user_part "$bin"
  vm_finish guest
  ;;
--user)
  S=$2
  delegated=$(dirname "/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)")
  echo "delegated subtree: $delegated"

  out=$("$S" run -v --memory 50M -- python3 -c 'x = bytearray(200 * 1024 * 1024)' 2>&1)
  check_eq "memory hog: exit status" 137 "$?"
  check "memory hog: backend is the delegated cgroup" grep -q "limits: delegated cgroup $delegated/sandbox-" <<<"$out"
  check "memory hog: the launcher says the limit was reached" grep -q "memory limit 50M reached" <<<"$out"
  peak=$(sed -n 's/.*peak memory \([0-9]*\)\..*/\1/p' <<<"$out")
  check_le "memory hog: peak memory (MiB) never above the limit" "$peak" 50
  check_eq "the VM survives: a shell still answers" ok "$(sh -c 'echo ok')"

  out=$("$S" run --pids 10 -- sh -c 'n=0; for i in $(seq 40); do sleep 5 & n=$((n+1)); done; echo started $n' 2>&1)
  check "fork bomb: the launcher says the process limit was reached" grep -q "process limit 10 reached" <<<"$out"

  out=$("$S" run -v --cpu 0.5 --timeout 4 -- sh -c 'while :; do :; done' 2>&1)
  check_eq "timeout: exit status 124" 124 "$?"
  check "timeout: said" grep -q "timeout of 4 s reached" <<<"$out"
  cpu=$(sed -n 's/.*cpu time \([0-9.]*\) s.*/\1/p' <<<"$out")
  # 4 s of wall time at half a core: about 2 s of CPU; generous bounds for a slow VM.
  check "cpu 0.5: cpu time $cpu s over 4 s is about half a core" awk -v c="$cpu" 'BEGIN { exit !(c > 1.0 && c < 2.8) }'

  leftovers=$(find "$delegated" -mindepth 1 -maxdepth 1 -type d -name 'sandbox-*' | wc -l)
  check_eq "no sandbox cgroups left behind" 0 "$leftovers"

  out=$("$S" run --memory 40M -- sh -c 'cat /proc/self/cgroup' 2>&1)
  check_eq "inside, the sandbox's cgroup is its cgroup namespace's root" "0::/" "$out"
  vm_finish user
  ;;
*)
  [ $# -eq 2 ] || { echo "usage: $0 PATH/TO/sandbox PATH/TO/share/sandbox" >&2; exit 2; }
  bin=$(realpath "$1") share=$(realpath "$2")
  [ -x "$bin" ] || { echo "no launcher at $bin (build it first)" >&2; exit 1; }
  vm_boot --timeout "${VM_TIMEOUT:-240}" -- bash "$VM_SELF" --guest "$bin" "$share"
  ;;
esac
