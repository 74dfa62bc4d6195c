#!/usr/bin/env bash
# vm smoke test: run-in-vm itself. Exit status, stdout and stderr come back apart, -e and the
# working directory reach the command, --timeout kills a VM that hangs (exit 124), and a host
# without what it needs gets a skip (77) with the reason.
set -u
. "$(dirname "$0")/lib.sh"
rin=$VM_TESTS_DIR/run-in-vm
"$VM_TESTS_DIR/setup.sh" || true
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# What the host lacks: a skip that says why (no VM is booted for these).
PATH=/nonexistent "$BASH" "$rin" -- true 2>"$tmp/err"
check_eq "no qemu in PATH: skip" 77 "$?"
check "... and the reason is named" grep -q 'qemu-system-x86_64 not found' "$tmp/err"
VM_KERNEL=/nonexistent/vmlinuz-0.0 "$rin" -- true 2>"$tmp/err"
check_eq "no kernel image: skip" 77 "$?"
check "... and the reason is named" grep -q 'kernel image' "$tmp/err"

# One boot for: exit status, stdout vs stderr, -e, the working directory, the VM's environment.
cd "$VM_TESTS_DIR" || exit 1
"$rin" --timeout "${VM_TIMEOUT:-120}" -e GREETING="hello there" -- bash -c '
  echo "out: $GREETING"; echo "err: $VM_MODE" >&2; echo "cwd: $PWD"; echo "uid: $(id -u)"
  echo "user: $(vm-as-user id -un)"; echo "cgroup: $(cat /proc/self/cgroup)"
  grep -q " / overlay " /proc/mounts && echo "root: overlay"
  touch /usr/written-in-vm && echo "root: writable"
  exit 7' >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 77 ] && { cat "$tmp/err" >&2; vm_skip "run-in-vm cannot run here"; }
check_eq "the command's exit status comes back" 7 "$rc"
[ "$rc" = 7 ] || { echo "--- its stdout:"; cat "$tmp/out"; echo "--- its stderr:"; cat "$tmp/err"; }
check "stdout comes back" grep -qx 'out: hello there' "$tmp/out"
check "stderr comes back apart" grep -qx 'err: busybox' "$tmp/err"
check "stdout has no stderr in it" bash -c "! grep -q '^err:' '$tmp/out'"
check "the working directory is the caller's" grep -qx "cwd: $VM_TESTS_DIR" "$tmp/out"
check "the command runs as root" grep -qx 'uid: 0' "$tmp/out"
check "vm-as-user runs as the test user" grep -qx "user: ${VM_USER:-sandbox-test}" "$tmp/out"
check "the command starts in the delegated leaf" grep -qx "cgroup: 0::/${VM_USER:-sandbox-test}/shell" "$tmp/out"
check "the root is an overlay, writable" grep -qx 'root: writable' "$tmp/out"
check "... and writes stay in the VM" test ! -e /usr/written-in-vm
check "boot time is reported" grep -q 'run-in-vm: \[busybox.*boot [0-9.]* s wall' "$tmp/err"
grep 'run-in-vm: \[' "$tmp/err"

# A command that hangs: the VM is killed at --timeout, with a message.
start=$(date +%s)
# (its job directory goes under $tmp, to find its qemu by; the initramfs cache stays shared)
TMPDIR=$tmp VM_CACHE_DIR=${TMPDIR:-/tmp}/sandbox-vm-cache.$(id -u) \
  "$rin" --timeout 15 -- sleep 600 >"$tmp/out" 2>"$tmp/err"
rc=$?
took=$(( $(date +%s) - start ))
check_eq "a hung command: exit 124" 124 "$rc"
check "... with a message" grep -q 'TIMEOUT: the VM did not finish within 15 s' "$tmp/err"
check_le "... within the timeout (+5 s)" "$took" 20
check "... and no qemu left behind" bash -c "! pgrep -f 'path=$tmp/[r]un-in-vm' >/dev/null"
check "... nor its job directory" bash -c "! ls -d '$tmp'/run-in-vm.* 2>/dev/null"
vm_finish host
