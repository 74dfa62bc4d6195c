#!/usr/bin/env bash
# Time from launch to a headless Firefox screenshot of a local page: unsandboxed, under the
# `firefox` profile, and under firejail's firefox profile, in one hyperfine run, as an
# unprivileged user. Target: sandboxed within 10% of unsandboxed, and faster than firejail.
#
#   bench/firefox.sh                  # as root (runs as `sandbox-bench`) or as a user
#   SANDBOX=/path/to/bin/sandbox RUNS=5 bench/firefox.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
RUNS=${RUNS:-5}
SANDBOX=${SANDBOX:-$repo/build/bin/sandbox}
[[ -x $SANDBOX ]] || { echo "bench: no sandbox binary at $SANDBOX (set SANDBOX)" >&2; exit 1; }
SANDBOX=$(readlink -f "$SANDBOX")
command -v firefox-esr >/dev/null || { echo "bench: apt-get install firefox-esr" >&2; exit 1; }

if [[ $(id -u) == 0 ]]; then
  user=${BENCH_USER:-sandbox-bench}
  id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
  stage=$(mktemp -d /var/tmp/sandbox-bench.XXXXXX)
  trap 'rm -rf "$stage"' EXIT
  cp -a "$(dirname "$(dirname "$SANDBOX")")"/{bin,share} "$stage"/
  chmod -R a+rX "$stage"
  runuser -u "$user" -- env SANDBOX="$stage/bin/sandbox" RUNS="$RUNS" bash "$here/firefox.sh"
  exit
fi

work=$(mktemp -d /tmp/ffbench.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
printf '<html><body style="background:#8c8"><h1>sandbox benchmark</h1></body></html>\n' > "$work/page.html"
page="file://$work/page.html"
ff="firefox-esr --headless --no-remote --screenshot $work/shot.png $page"
# The sandboxed run sees the page read-only and writes the shot to the same (bound) dir; no
# network: a local page needs none.
cmds=("$ff" "$SANDBOX run -p firefox --net none --rw $work -- $ff")
names=("unsandboxed" "sandbox (firefox profile)")
# firejail's own firefox-esr profile, tried once first: where it fails or hangs (it does on
# Debian 12 without a user D-Bus session), the column is left out and the reason said.
jail="firejail --quiet --profile=firefox-esr --net=none --dbus-user=none --dbus-system=none --whitelist=$work $ff"
if command -v firejail >/dev/null && timeout 60 $jail >/dev/null 2>&1 && [[ -s $work/shot.png ]]; then
  cmds+=("$jail")
  names+=("firejail (firefox-esr profile)")
else
  echo "bench: firejail is missing, or its firefox-esr profile failed or hung for 60 s here: no firejail column" >&2
fi
rm -f "$work/shot.png"
args=()
for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
hyperfine --warmup 1 --runs "$RUNS" --export-markdown "$work/ff.md" "${args[@]}" >&2
cat "$work/ff.md"
