#!/usr/bin/env bash
# completion_test.sh COMPLETIONS_DIR BIN_DIR: calls the bash completion function directly, the
# way bash does on <TAB>, and checks the words it offers. BIN_DIR holds the built sandbox,
# whose `sandbox profiles` supplies the profile names.
set -uo pipefail
dir=$1
if [ ! -x "$2/sandbox" ]; then
  echo "SKIP: $2/sandbox is not built"
  exit 77
fi
export PATH=$2:$PATH
XDG_DATA_HOME=$(mktemp -d) XDG_CONFIG_HOME=$(mktemp -d)
export XDG_DATA_HOME XDG_CONFIG_HOME
trap 'rm -rf "$XDG_DATA_HOME" "$XDG_CONFIG_HOME"' EXIT
mkdir -p "$XDG_DATA_HOME/sandbox/gimp" "$XDG_DATA_HOME/sandbox/notes" "$XDG_DATA_HOME/sandbox/.run"

# shellcheck source=/dev/null
source "$dir/sandbox.bash"

# complete WORD...: the words offered for the last WORD of `WORD...`.
complete_words() {
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="$*"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _sandbox
  printf '%s\n' "${COMPREPLY[@]}" | sort
}

fail=0
expect() {  # expect "DESCRIPTION" "OFFERED" WORD...: every WORD is offered
  local what=$1 offered=$2 w
  shift 2
  for w in "$@"; do
    grep -qx -- "$w" <<<"$offered" || { echo "FAIL: $what: '$w' not offered; got: $(echo $offered)"; fail=1; }
  done
}
refuse() {  # refuse "DESCRIPTION" "OFFERED" WORD...: no WORD is offered
  local what=$1 offered=$2 w
  shift 2
  for w in "$@"; do
    grep -qx -- "$w" <<<"$offered" && { echo "FAIL: $what: '$w' offered; got: $(echo $offered)"; fail=1; }
  done
}

out=$(complete_words sandbox r)
expect "sandbox r<TAB>" "$out" run reset ristretto
refuse "sandbox r<TAB>" "$out" explain default

out=$(complete_words sandbox run -p "")
expect "sandbox run -p <TAB>" "$out" default strict shell
refuse "sandbox run -p <TAB>" "$out" run --net

out=$(complete_words sandbox run -p st)
[ "$out" = strict ] || { echo "FAIL: sandbox run -p st<TAB> gave: $(echo $out)"; fail=1; }

out=$(complete_words sandbox "")
expect "sandbox <TAB>" "$out" run explain check profiles diff commit reset ps enter stop desktop default

out=$(complete_words sandbox run --net "")
[ "$(echo $out)" = "filtered host none" ] || { echo "FAIL: --net <TAB> gave: $(echo $out)"; fail=1; }

out=$(complete_words sandbox run --)
expect "sandbox run --<TAB>" "$out" --net --allow --net-log --publish --json-status --json-status-fd --profile

out=$(complete_words sandbox run --home "")
expect "--home <TAB>" "$out" overlay ephemeral tmpfs bind ro

out=$(complete_words sandbox diff "")
[ "$(echo $out)" = "gimp notes" ] || { echo "FAIL: sandbox diff <TAB> gave: $(echo $out)"; fail=1; }

out=$(complete_words sandbox desktop "")
[ "$(echo $out)" = "install list remove" ] || { echo "FAIL: desktop <TAB> gave: $(echo $out)"; fail=1; }

# After `run -p X`, the command to run; the value of -p is not mistaken for it.
out=$(complete_words sandbox run -p strict ech)
expect "sandbox run -p strict ech<TAB>" "$out" echo
refuse "sandbox run -p strict ech<TAB>" "$out" run

[ "$fail" -eq 0 ] && echo "ok: bash completion"
exit "$fail"
