#!/usr/bin/env bash
# Installs the Debian packages sandbox needs to build (and, with --test, to run its tests and
# benchmarks). Installs only what is missing; needs root for apt-get.
set -euo pipefail

build_pkgs=(cmake g++ make pkg-config libcap-dev libseccomp-dev libmount-dev libyaml-cpp-dev libsystemd-dev
            googletest libgtest-dev libgmock-dev libglib2.0-dev libnftables-dev passt)
test_pkgs=(python3 bubblewrap hyperfine procps iproute2 passwd util-linux groff-base man-db fuse-overlayfs
           qemu-system-x86 linux-image-amd64 busybox-static systemd dbus-user-session libpam-systemd
           desktop-file-utils dnsmasq-base iperf3 nftables zsh fish dpkg-dev)

want=("${build_pkgs[@]}")
[ "${1:-}" = "--test" ] && want+=("${test_pkgs[@]}")

. "$(dirname "$0")/packages.sh"
missing_packages "${want[@]}"
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "sandbox: missing packages: ${missing[*]}; run as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
