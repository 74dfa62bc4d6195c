#!/usr/bin/env bash
# vm smoke test: the project's launcher runs inside the VM as the unprivileged test user
# (unprivileged user namespaces, its overlay home) and passes the exit status through.
#   smoke_sandbox_run.sh PATH/TO/sandbox PATH/TO/share/sandbox
set -u
. "$(dirname "$0")/lib.sh"

case "${1:-}" in
--guest)
  bin=$2 share=$3
  # Where the test user cannot reach the build tree, stage the launcher and its profiles into a
  # world-readable directory (the layout it finds its profiles by: bin/../share/sandbox).
  if ! vm-as-user test -x "$bin" || ! vm-as-user test -r "$share/profiles"; then
    stage=$(mktemp -d /tmp/sandbox-vm.XXXXXX)
    mkdir -p "$stage/bin" "$stage/share"
    cp "$bin" "$stage/bin/sandbox" && cp -r "$share" "$stage/share/sandbox" && chmod -R a+rX "$stage"
    bin=$stage/bin/sandbox
    echo "staged the launcher into $stage"
  fi
  check "the user part passes" vm_user_part "$bin"
  vm_finish guest
  ;;
--user)
  bin=$2
  check_eq "running as" "$VM_USER" "$(id -un)"
  check_eq "unprivileged user namespaces" 0 "$(unshare -Ur true; echo $?)"
  out=$("$bin" run -- /bin/true 2>&1)
  rc=$?
  check_eq "sandbox run -- /bin/true" 0 "$rc"
  [ "$rc" = 0 ] || echo "$out"
  out=$("$bin" run -- sh -c 'id -u; exit 3' 2>&1)
  check_eq "the app's exit status passes through" 3 "$?"
  check_eq "the app runs as the user's uid" "$VM_UID" "$(echo "$out" | tail -n 1)"
  vm_finish user
  ;;
*)
  [ $# -eq 2 ] || { echo "usage: $0 PATH/TO/sandbox PATH/TO/share/sandbox" >&2; exit 2; }
  bin=$(realpath "$1") share=$(realpath "$2")
  [ -x "$bin" ] || { echo "no launcher at $bin (build it first)" >&2; exit 1; }
  vm_boot --timeout "${VM_TIMEOUT:-180}" -- bash "$VM_SELF" --guest "$bin" "$share"
  ;;
esac
