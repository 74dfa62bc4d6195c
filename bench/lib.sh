# Shared by the benchmark scripts (sourced): the sandbox binary, the unprivileged user the
# measurements run as, and the bubblewrap command with the isolation `sandbox` gives.
#   as_user CMD...       runs CMD as $bench_user in a clean environment, in $bench_home
#   stage_sandbox        makes $SANDBOX (and its share/ and libexec helpers) reachable by that user
#   bwrap_argv HOME...   prints nothing; fills the array bw=(...) for a tmpfs home
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
BENCH_USER=${BENCH_USER:-sandbox-bench}

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

need_tools() {  # need_tools PROGRAM:PACKAGE...
  local missing=() spec
  for spec in "$@"; do command -v "${spec%%:*}" >/dev/null || missing+=("${spec#*:}"); done
  ((${#missing[@]})) || return 0
  if [[ $(id -u) == 0 && -z ${BENCH_NO_INSTALL:-} ]]; then
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
      die "could not install ${missing[*]}"
  else
    die "missing: ${missing[*]} (apt-get install ${missing[*]})"
  fi
}

if [[ -z ${SANDBOX:-} ]]; then
  for candidate in ./build/bin/sandbox "$repo/build/bin/sandbox"; do
    if [[ -x $candidate ]]; then SANDBOX=$candidate; break; fi
  done
fi
[[ -n ${SANDBOX:-} && -x $SANDBOX ]] ||
  die "no sandbox binary: build it (cmake -S . -B build && cmake --build build) or set SANDBOX"
SANDBOX=$(readlink -f "$SANDBOX")

cleanup_dirs=()
cleanup() { ((${#cleanup_dirs[@]})) && rm -rf -- "${cleanup_dirs[@]}"; return 0; }
trap cleanup EXIT

if [[ $(id -u) == 0 ]]; then
  bench_user=$BENCH_USER
  id -u "$bench_user" >/dev/null 2>&1 ||
    useradd --create-home --shell /bin/sh --comment "sandbox benchmarks" "$bench_user"
  bench_home=$(getent passwd "$bench_user" | cut -d: -f6)
  [[ -d $bench_home ]] || { mkdir -p "$bench_home"; chown "$bench_user:" "$bench_home"; chmod 700 "$bench_home"; }
  as_user() {
    runuser -u "$bench_user" -- env -i -C "${AS_USER_CWD:-$bench_home}" HOME="$bench_home" USER="$bench_user" \
      LOGNAME="$bench_user" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 "$@"
  }
else
  bench_user=$(id -un)
  bench_home=$HOME
  as_user() { env -C "${AS_USER_CWD:-$bench_home}" "$@"; }
fi

stage_sandbox() {
  local prefix
  prefix=$(dirname "$(dirname "$SANDBOX")")
  if as_user test -x "$SANDBOX" && as_user test -r "$prefix/share/sandbox/profiles/default.yaml"; then return; fi
  local copy
  copy=$(mktemp -d /var/tmp/sandbox-bench-bin.XXXXXX)
  cleanup_dirs+=("$copy")
  mkdir -p "$copy/bin" "$copy/share"
  cp "$SANDBOX" "$copy/bin/sandbox"
  for helper in sandbox-net sandbox-desktop; do
    [[ -x $(dirname "$SANDBOX")/$helper ]] && cp "$(dirname "$SANDBOX")/$helper" "$copy/bin/"
  done
  cp -R "$prefix/share/sandbox" "$copy/share/sandbox"
  chmod -R a+rX "$copy"
  SANDBOX=$copy/bin/sandbox
}

# bubblewrap with the isolation of `sandbox run --home tmpfs`: the same namespaces, the system
# read-only, merged-/usr links, fresh /proc /dev /tmp /var/tmp /run, a tmpfs home, new session.
bwrap_base() {
  bw=(bwrap --unshare-user --unshare-pid --unshare-ipc --unshare-uts --unshare-net --unshare-cgroup
      --hostname default)
  local d l
  for d in usr etc opt srv var; do [[ -d /$d && ! -L /$d ]] && bw+=(--ro-bind "/$d" "/$d"); done
  for l in bin sbin lib lib32 lib64 libx32; do
    if [[ -L /$l ]]; then bw+=(--symlink "$(readlink "/$l")" "/$l")
    elif [[ -d /$l ]]; then bw+=(--ro-bind "/$l" "/$l"); fi
  done
  bw+=(--proc /proc --dev /dev --tmpfs /tmp --tmpfs /run --tmpfs "$bench_home")
  [[ -d /var && ! -L /var ]] && bw+=(--tmpfs /var/tmp)
  bw+=(--new-session --die-with-parent --cap-drop ALL)
}

firejail_works() { command -v firejail >/dev/null && as_user firejail --quiet --noprofile --private --net=none /bin/true >/dev/null 2>&1; }

machine_line() {
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); kernel $(uname -r); $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"); as $bench_user"
}
