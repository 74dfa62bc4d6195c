# Helpers for the vm tier's test scripts, sourced on the host and inside the VM.
#
# A test script is one file with three parts, picked by its first argument:
#   (none)   on the host: `vm_boot [run-in-vm options]` boots a VM that runs this same file
#            with --guest (the host's root is the VM's root, so the path is the same there);
#   --guest  inside the VM as root: set things up, then `vm_user_part` runs this file again with
#            --user as the unprivileged test user (from a world-readable copy);
#   --user   inside the VM as the test user.
# Each part reports with `check` and ends with `vm_finish`, whose exit status is the number of
# failed checks (0: all passed). `vm_skip REASON` exits 77, which CTest reports as skipped.

VM_TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
vm_checks=0
vm_failed=0
vm_t0=${EPOCHREALTIME/,/.}
# Seconds since this part started, to see where the time goes (everything is slow in the VM).
vm_elapsed() { awk -v a="$vm_t0" -v b="${EPOCHREALTIME/,/.}" 'BEGIN { printf "%5.1fs", b - a }'; }

# check DESCRIPTION COMMAND [ARGS...]: run COMMAND, count and print the outcome.
check() {
  local what=$1; shift
  vm_checks=$((vm_checks + 1))
  if "$@"; then
    echo "ok     $(vm_elapsed) $what"
  else
    vm_failed=$((vm_failed + 1))
    echo "FAILED $(vm_elapsed) $what"
  fi
}
# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
  vm_checks=$((vm_checks + 1))
  if [ "$2" = "$3" ]; then
    echo "ok     $(vm_elapsed) $1 ($3)"
  else
    vm_failed=$((vm_failed + 1))
    echo "FAILED $(vm_elapsed) $1: expected '$2', got '$3'"
  fi
}
# check_le DESCRIPTION ACTUAL MAX (integers)
check_le() {
  vm_checks=$((vm_checks + 1))
  if [ -n "$2" ] && [ "$2" -le "$3" ] 2>/dev/null; then
    echo "ok     $(vm_elapsed) $1 ($2 <= $3)"
  else
    vm_failed=$((vm_failed + 1))
    echo "FAILED $(vm_elapsed) $1: '$2' is not <= $3"
  fi
}
vm_skip() { echo "SKIP: $*" >&2; exit 77; }
vm_finish() {
  echo "[$1] $vm_checks checks, $vm_failed failed"
  exit "$vm_failed"
}

# On the host: install what is missing (as root; quick when nothing is), then boot.
vm_boot() {
  "$VM_TESTS_DIR/setup.sh" || echo "(vm setup could not install everything; run-in-vm says what is missing)" >&2
  exec "$VM_TESTS_DIR/run-in-vm" "$@"
}

# In the guest, as root: run this script with --user as the test user. Extra arguments follow.
vm_user_part() {
  local copy
  copy=$(mktemp -d /tmp/vmtest.XXXXXX) || return 1
  cp "$VM_TESTS_DIR/lib.sh" "$VM_SELF" "$copy/" && chmod -R a+rX "$copy" || return 1
  vm-as-user bash "$copy/$(basename "$VM_SELF")" --user "$@"
}

# Poll until COMMAND succeeds or SECONDS pass: wait_for SECONDS COMMAND [ARGS...]
wait_for() {
  local n=$(( $1 * 10 )); shift
  while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
  return 1
}
