#!/usr/bin/env bash
# Runs a real program in a sandbox under the shipped `default` profile and shows what it can
# and cannot reach. As root it runs as an ordinary user (created if needed): a sandbox needs
# no privileges, and root's view would prove less.
set -euo pipefail
SANDBOX=${SANDBOX:-sandbox}
command -v "$SANDBOX" >/dev/null || { echo "demo: $SANDBOX not found" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
  user=${SUDO_USER:-sandbox-demo}
  [ "$user" = root ] && user=sandbox-demo
  id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
  exec runuser -u "$user" -- env SANDBOX="$(command -v "$SANDBOX")" bash "$(readlink -f "$0")"
fi

cd ~
mkdir -p ~/.ssh && chmod 700 ~/.ssh
echo "demo-secret-key" > ~/.ssh/id_demo
echo "original" > ~/notes.txt

echo "== sandbox explain default (what it can and cannot reach)"
"$SANDBOX" explain default | sed -n '1,12p'
echo "   ..."
echo
echo "== the same program, inside and outside: bash looking around"
look='
echo "who am I:        $(id -un) (uid $(id -u)), host name $(hostname)"
echo "capabilities:    $(grep CapEff /proc/self/status | cut -f2)"
echo "processes seen:  $(ls /proc | grep -c "^[0-9]")"
echo "network links:   $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\n" " ")"
echo "~/.ssh/id_demo:  $(cat ~/.ssh/id_demo 2>&1)"
'
write='
echo "write /usr:      $(touch /usr/demo 2>&1 && echo written || true)"
echo "write ~/notes:   $(echo changed-by-app > ~/notes.txt && cat ~/notes.txt)"
'
echo "-- outside, without a sandbox:"
bash -c "$look"
echo "-- inside: sandbox run -p default -- bash -c ..."
"$SANDBOX" run -p default -- bash -c "$look$write"
echo
echo "== after the sandbox exited"
echo "real ~/notes.txt:  $(cat ~/notes.txt)"
echo "the app's layer:   $(cat ~/.local/share/sandbox/default/upper/notes.txt) (in ~/.local/share/sandbox/default/upper)"
