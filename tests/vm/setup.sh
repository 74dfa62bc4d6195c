#!/usr/bin/env bash
# Installs what the vm test tier needs and is missing: qemu, Debian's kernel, a static busybox
# for the initramfs, and systemd with a user session bus for --systemd mode. Only as root
# (`apt-get update` once, then one `apt-get install`); as anyone else it only says what is
# missing. Exit 0 when everything is there afterwards, 1 otherwise.
set -uo pipefail

pkgs=(qemu-system-x86 linux-image-amd64 busybox-static systemd dbus-user-session libpam-systemd
      util-linux python3)

. "$(dirname "$0")/../../scripts/packages.sh"
missing_packages "${pkgs[@]}"
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "vm setup: missing packages: ${missing[*]} (run as root: apt-get install ${missing[*]})" >&2
  exit 1
fi

# Two callers (parallel ctest jobs) must not run apt at once: take a lock.
exec 9>/var/lock/sandbox-vm-setup.lock
flock -w 900 9 || { echo "vm setup: could not take /var/lock/sandbox-vm-setup.lock" >&2; exit 1; }
missing_packages "${pkgs[@]}"
[ ${#missing[@]} -eq 0 ] && exit 0

echo "vm setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || echo "vm setup: apt-get update failed" >&2
# No recommends: qemu-system-x86 would pull in a graphics stack we do not use.
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/sandbox-vm-setup.log 2>&1; then
  echo "vm setup: apt-get install ${missing[*]} failed; see /tmp/sandbox-vm-setup.log:" >&2
  tail -n 15 /tmp/sandbox-vm-setup.log >&2
  exit 1
fi
exit 0
