#!/usr/bin/env bash
# userns_limit_test.sh SANDBOX: with user.max_user_namespaces at 0, `sandbox run` fails with
# 125 and a hint naming max_user_namespaces and the sysctl that fixes it.
#
# user.max_user_namespaces is per user namespace: root of a throwaway namespace from
# `unshare --user --map-root-user` may set it to 0 there without touching the host.
set -uo pipefail
sandbox=$1

if ! unshare --user --map-root-user true 2>/dev/null; then
  echo "SKIP: this host refuses unprivileged user namespaces (unshare --user failed)"
  exit 77
fi
# As root, run the throwaway namespace as the unprivileged test user when there is one.
as_user=()
if [ "$(id -u)" -eq 0 ] && id sandbox-test >/dev/null 2>&1; then
  as_user=(runuser -u sandbox-test --)
fi

out=$(cd / && "${as_user[@]}" unshare --user --map-root-user sh -c '
  echo 0 > /proc/sys/user/max_user_namespaces || exit 99
  exec "$1" run -p default --home tmpfs -- true' sh "$sandbox" 2>&1)
rc=$?
echo "$out"
if [ "$rc" -eq 99 ]; then
  echo "SKIP: this kernel does not let the namespace's root lower user.max_user_namespaces"
  exit 77
fi
fail=0
[ "$rc" -eq 125 ] || { echo "FAIL: exit $rc, expected 125"; fail=1; }
grep -q 'max_user_namespaces is 0' <<<"$out" || { echo "FAIL: the cause is not named"; fail=1; }
grep -q 'fix: `sysctl -w user.max_user_namespaces=15000`' <<<"$out" ||
  { echo "FAIL: the fix is not named"; fail=1; }
[ "$fail" -eq 0 ] && echo "ok"
exit "$fail"
