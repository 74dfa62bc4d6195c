#!/usr/bin/env bash
# completion_shell_test.sh SHELL COMPLETIONS_DIR BIN_DIR: `zsh -n` / `fish -n` on our
# completion file, then what that shell offers for `sandbox r<TAB>` and `sandbox run -p <TAB>`
# with the built sandbox (BIN_DIR) on PATH. Skips (77) when the shell is not installed.
set -uo pipefail
shell=$1 dir=$2 bin=$3
here=$(cd "$(dirname "$0")" && pwd)
case $shell in
  zsh) file=$dir/_sandbox ;;
  fish) file=$dir/sandbox.fish ;;
  *) echo "unknown shell $shell" >&2; exit 2 ;;
esac
command -v "$shell" >/dev/null || { echo "SKIP: $shell is not installed (apt-get install $shell)"; exit 77; }
[ -x "$bin/sandbox" ] || { echo "SKIP: $bin/sandbox is not built"; exit 77; }
"$shell" -n "$file" || { echo "FAIL: $shell -n $file"; exit 1; }
echo "ok: $shell -n $file"

export PATH=$bin:$PATH
XDG_DATA_HOME=$(mktemp -d) XDG_CONFIG_HOME=$(mktemp -d)
export XDG_DATA_HOME XDG_CONFIG_HOME
trap 'rm -rf "$XDG_DATA_HOME" "$XDG_CONFIG_HOME"' EXIT
mkdir -p "$XDG_DATA_HOME/sandbox/gimp"
cd "$XDG_DATA_HOME" || exit 1  # no stray files to offer

offered() {  # offered LINE: the words offered for LINE<TAB>, one a line, sorted
  case $shell in
    zsh) timeout 30 zsh -f "$here/zsh_complete.zsh" "$dir" "$1" ;;
    fish) timeout 30 fish --no-config -c "source $(printf '%q' "$file"); complete -C $(printf '%q' "$1")" | cut -f1 ;;
  esac | sort -u
}
fail=0
expect() {  # expect LINE WORD...: every WORD is offered for LINE<TAB>
  local line=$1 out w
  shift
  out=$(offered "$line")
  for w in "$@"; do
    grep -qx -- "$w" <<<"$out" || { echo "FAIL: '$line<TAB>' does not offer '$w'; got: $(echo $out)"; fail=1; }
  done
  [ "$fail" -eq 1 ] || echo "ok: '$line<TAB>' offers $*"
}
expect "sandbox r" run reset ristretto
expect "sandbox run -p " default strict shell
expect "sandbox run --net " none host filtered
expect "sandbox diff " gimp
expect "sandbox run -p strict -- ech" echo
exit "$fail"
