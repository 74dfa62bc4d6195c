#!/usr/bin/env bash
# vm smoke test (busybox mode): the delegated cgroup v2 subtree works for the unprivileged test
# user, and memory.max / pids.max hold inside the VM while the VM keeps running.
set -u
. "$(dirname "$0")/lib.sh"

case "${1:-}" in
"")
  vm_boot --timeout "${VM_TIMEOUT:-150}" -- bash "$VM_SELF" --guest
  ;;
--guest)
  check "cgroup2 is mounted on /sys/fs/cgroup" [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]
  for c in cpu memory pids io; do
    check "root subtree_control has $c" grep -qw "$c" /sys/fs/cgroup/cgroup.subtree_control
  done
  check_eq "the delegated subtree belongs to $VM_USER" "$VM_USER" "$(stat -c %U "$VM_CGROUP")"
  check "the user part passes" vm_user_part
  # The user's cgroups are gone (the user removed them), the VM is alive, the root is unharmed.
  check_eq "nothing left under $VM_CGROUP but the shell leaf" "$VM_CGROUP/shell" \
    "$(find "$VM_CGROUP" -mindepth 1 -type d | sort | tr '\n' ' ' | sed 's/ $//')"
  # memory.events counts a subtree's events: one kill in all of it, the hog.
  check_eq "OOM kills in the whole delegated subtree" 1 \
    "$(awk '$1 == "oom_kill" { print $2 }' "$VM_CGROUP/memory.events")"
  vm_finish guest
  ;;
--user)
  cg=$VM_CGROUP
  check_eq "running as" "$VM_USER" "$(id -un)"
  for c in cpu memory pids; do
    check "/sys/fs/cgroup/cgroup.controllers lists $c" grep -qw "$c" /sys/fs/cgroup/cgroup.controllers
  done
  check_eq "my cgroup" "0::/${cg#/sys/fs/cgroup/}/shell" "$(cat /proc/self/cgroup)"
  check_eq "controllers offered to the delegated subtree" "cpu io memory pids" \
    "$(tr ' ' '\n' <"$cg/cgroup.controllers" | grep -xE 'cpu|io|memory|pids' | sort | tr '\n' ' ' | sed 's/ $//')"
  check "the user cannot raise its own subtree's limits" bash -c "! echo max 2>/dev/null >$cg/memory.max"
  check "the user enables cpu io memory pids in its subtree" \
    bash -c "echo '+cpu +io +memory +pids' >$cg/cgroup.subtree_control"

  # Memory: a 200 MB hog in a 50M cgroup is OOM-killed, inside its cgroup only.
  check "the user creates a child cgroup" mkdir "$cg/hog"
  check "memory.max=50M" bash -c "echo 50M >$cg/hog/memory.max"
  [ -e "$cg/hog/memory.swap.max" ] && echo 0 >"$cg/hog/memory.swap.max"
  check_eq "memory.max reads back" 52428800 "$(cat "$cg/hog/memory.max")"
  # (in a command substitution, so that this shell does not report the kill)
  rc=$(bash -c 'echo $BASHPID >"$1/cgroup.procs" && exec python3 -c "
b = bytearray(200 * 1024 * 1024)
for i in range(0, len(b), 4096): b[i] = 1
print(\"hog survived\")
"' hog "$cg/hog" >/dev/null 2>&1; echo $?)
  check_eq "the memory hog died of SIGKILL (exit 128+9)" 137 "$rc"
  check_eq "memory.events oom_kill" 1 "$(awk '$1 == "oom_kill" { print $2 }' "$cg/hog/memory.events")"
  if [ -e "$cg/hog/memory.peak" ]; then
    check_le "memory.peak within memory.max" "$(cat "$cg/hog/memory.peak")" 52428800
  fi
  check "the hog's cgroup is removable" rmdir "$cg/hog"

  # Pids: no more than 20 tasks, counted fork by fork, then a real fork bomb.
  check "pids cgroup" mkdir "$cg/fork"
  check "pids.max=20" bash -c "echo 20 >$cg/fork/pids.max"
  forked=$(bash -c 'echo $BASHPID >"$1/cgroup.procs" && exec python3 -c "
import os, time
n = 0
for _ in range(100):
    try:
        pid = os.fork()
    except BlockingIOError:
        break
    if pid == 0:
        os.close(1); time.sleep(60); os._exit(0)
    n += 1
print(n)
"' fork "$cg/fork")
  check_eq "forks allowed under pids.max=20 (20 tasks with the parent)" 19 "$forked"
  check "pids.events counts refused forks" bash -c "[ \$(awk '\$1 == \"max\" { print \$2 }' $cg/fork/pids.events) -ge 1 ]"
  echo 1 >"$cg/fork/cgroup.kill"
  wait_for 10 grep -qx 'populated 0' "$cg/fork/cgroup.events"
  # A shell fork bomb, stopped after 3 s; pids.current is sampled (builtins only) while it runs.
  bash -c 'echo $BASHPID >"$1/cgroup.procs" && exec bash -c "b() { b | b & }; b" ' bomb "$cg/fork" \
    >/dev/null 2>&1 &
  most=0
  end=$(( ${EPOCHREALTIME%[.,]*} + 3 ))
  while [ "${EPOCHREALTIME%[.,]*}" -lt "$end" ]; do
    read -r n <"$cg/fork/pids.current"; [ "$n" -gt "$most" ] && most=$n
  done
  echo 1 >"$cg/fork/cgroup.kill"
  check_le "the fork bomb's pids.current never above pids.max" "$most" 20
  check "the fork bomb hit the limit" bash -c "[ $most -ge 15 ]"
  check "the fork bomb is gone" wait_for 20 grep -qx 'populated 0' "$cg/fork/cgroup.events"
  wait 2>/dev/null
  check "the fork cgroup is removable" rmdir "$cg/fork"
  check "the machine still runs programs" bash -c 'echo alive | grep -q alive'
  vm_finish user
  ;;
esac
