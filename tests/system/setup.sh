#!/usr/bin/env bash
# Installs the Debian packages the system tier (tests/system) needs: the services its tests
# start (a D-Bus session bus, Xvfb, weston), the clients they run inside sandboxes, and the
# apps of the shipped profiles. Installs only what is missing, without recommends; needs root
# for apt-get. Without root it says what is missing and exits 0: those tests skip, naming the
# package.
set -euo pipefail

pkgs=(
  dbus-daemon dbus-bin xdg-dbus-proxy       # the bus, dbus-send, the filtering proxy
  python3 python3-dbus python3-gi           # the tests' D-Bus service
  xvfb xauth x11-utils x11-apps             # X server, cookies, xdpyinfo/xwininfo, xwd/xlogo
  weston wayland-utils                      # headless compositor, wayland-info
  firefox-esr chromium                      # the browsers of profiles/data
  mousepad mupdf ristretto mpv              # the everyday apps of profiles/data
)

. "$(dirname "$0")/../../scripts/packages.sh"
missing_packages "${pkgs[@]}"

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "tests/system: missing packages (their tests skip): ${missing[*]}; as root: apt-get install ${missing[*]}" >&2
    exit 0
  fi
  echo "tests/system: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# X servers of ordinary users put their sockets here; made by root, as a login would, so that
# the first Xvfb of the tests' unprivileged user does not create it as its own.
if [ "$(id -u)" -eq 0 ] && [ ! -d /tmp/.X11-unix ]; then
  install -d -m 1777 -o root -g root /tmp/.X11-unix
fi

# /dev/fuse is 0666 on Debian (udev's default rule), so that fuse-overlayfs, the home's
# fallback on kernels without overlayfs in user namespaces, works for ordinary users. Minimal
# VMs and containers without udev may leave it 0600; the fallback's tests would then skip.
if [ "$(id -u)" -eq 0 ] && [ -c /dev/fuse ] && [ "$(stat -c %a /dev/fuse)" != 666 ]; then
  echo "tests/system: /dev/fuse was $(stat -c %a /dev/fuse); making it 0666 as Debian's udev rule does"
  chmod 0666 /dev/fuse
fi
