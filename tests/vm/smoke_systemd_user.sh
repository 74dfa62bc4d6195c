#!/usr/bin/env bash
# vm smoke test (--systemd): systemd is PID 1, the test user has a real user manager
# (user@UID.service) and session bus, and a transient user scope gets its MemoryMax as
# memory.max in a cgroup under user@UID.service.
set -u
. "$(dirname "$0")/lib.sh"

case "${1:-}" in
"")
  vm_boot --systemd --timeout "${VM_TIMEOUT:-240}" -- bash "$VM_SELF" --guest
  ;;
--guest)
  check_eq "PID 1" systemd "$(cat /proc/1/comm)"
  check_eq "cgroup2 only" cgroup2fs "$(stat -f -c %T /sys/fs/cgroup)"
  check_eq "user@$VM_UID.service" active "$(systemctl is-active "user@$VM_UID.service")"
  check "user@$VM_UID.service is delegated" \
    bash -c "systemctl show -p Delegate user@$VM_UID.service | grep -qx Delegate=yes"
  for c in cpu memory pids; do
    check "$c is available to the user manager" grep -qw "$c" "$VM_CGROUP/cgroup.controllers"
  done
  check "the session bus socket exists" test -S "/run/user/$VM_UID/bus"
  check "the user part passes" vm_user_part
  vm_finish guest
  ;;
--user)
  check_eq "running as" "$VM_USER" "$(id -un)"
  check_eq "DBUS_SESSION_BUS_ADDRESS" "unix:path=/run/user/$VM_UID/bus" "${DBUS_SESSION_BUS_ADDRESS:-}"
  check "busctl --user reaches the user bus" \
    bash -c 'busctl --user --no-pager list | grep -q "^org.freedesktop.DBus "'
  check "the user manager is on the bus" \
    bash -c 'busctl --user --no-pager status org.freedesktop.systemd1 >/dev/null'
  cg=$(systemd-run --user --scope --quiet -p MemoryMax=50M -- cat /proc/self/cgroup)
  echo "scope cgroup: $cg"
  check "systemd-run --user --scope lands under user@$VM_UID.service" \
    bash -c "[[ '$cg' == 0::/user.slice/user-$VM_UID.slice/user@$VM_UID.service/app.slice/run-*.scope ]]"
  max=$(systemd-run --user --scope --quiet -p MemoryMax=50M -- \
        sh -c 'cat "/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)/memory.max"')
  check_eq "the scope's memory.max" 52428800 "$max"
  vm_finish user
  ;;
esac
