#!/usr/bin/env bash
# deb_test.sh SOURCE_DIR BUILD_DIR: builds the .deb in BUILD_DIR (prefix /usr; kept between
# runs, so a rerun only rebuilds what changed), checks its control fields and files, installs
# it with dpkg, runs the installed sandbox as an unprivileged user, and removes it again.
# Root only (exit 77 otherwise). Leaves nothing installed.
set -euo pipefail
src=$1 build=$2
user=sandbox-test

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (dpkg -i)"
for tool in dpkg dpkg-deb dpkg-shlibdeps cpack runuser; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (apt-get install dpkg-dev cmake util-linux)"
done
# Never overwrite a sandbox that is installed from somewhere else.
if dpkg-query -W -f='${Status}' sandbox 2>/dev/null | grep -q 'installed'; then
  skip "a sandbox package is installed already; remove it first (dpkg -r sandbox)"
fi
[ ! -e /usr/bin/sandbox ] || skip "/usr/bin/sandbox exists and is not from a package; not overwriting it"
[ ! -e /etc/apparmor.d/sandbox ] || skip "/etc/apparmor.d/sandbox exists (a manual install?); not overwriting it"

fail=0
check() {  # check DESCRIPTION COMMAND...: runs COMMAND, says FAIL when it fails
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}

# --- Build ----------------------------------------------------------------------------------
t0=$SECONDS
# Only the packaged programs are built: cpack's preinstall then skips the test binaries.
cmake -S "$src" -B "$build" -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j"$(nproc)" --target sandbox_programs >"$build.build.log" 2>&1 ||
  { tail -50 "$build.build.log"; exit 1; }
rm -f "$build"/sandbox_*.deb
(cd "$build" && cpack -G DEB >"$build.cpack.log" 2>&1) || { cat "$build.cpack.log"; exit 1; }
echo "built in $((SECONDS - t0)) s"

version=$(sed -n 's/^project(sandbox VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
deb=$build/sandbox_${version}_$(dpkg --print-architecture).deb
[ -f "$deb" ] || { echo "FAIL: no $deb; built: $(ls "$build"/*.deb 2>/dev/null)"; exit 1; }
echo "package: $deb"

# --- Inspect ----------------------------------------------------------------------------------
info=$(dpkg-deb -I "$deb")
echo "$info" | sed -n '/Package:/,$p'
field() { dpkg-deb -f "$deb" "$1"; }
check "Depends names libc6" grep -q 'libc6' <<<"$(field Depends)"
check "Recommends passt, xdg-dbus-proxy, fuse-overlayfs" \
  grep -Eq 'xdg-dbus-proxy.*passt.*fuse-overlayfs' <<<"$(field Recommends)"
check "Section utils" test "$(field Section)" = utils
check "a Maintainer" test -n "$(field Maintainer)"

listing=$(dpkg-deb -c "$deb")
check "no setuid or setgid file" bash -c '! awk "{print \$1}" <<<"$1" | grep -q "^...[sS]\|^......[sS]"' _ "$listing"
check "/usr/bin/sandbox is -rwxr-xr-x" grep -Eq '^-rwxr-xr-x .* \./usr/bin/sandbox$' <<<"$listing"
for f in ./usr/libexec/sandbox/sandbox-desktop ./usr/share/sandbox/profiles/default.yaml \
         ./usr/share/man/man1/sandbox.1 ./usr/share/man/man5/sandbox-profile.5 \
         ./usr/share/bash-completion/completions/sandbox ./usr/share/zsh/vendor-completions/_sandbox \
         ./usr/share/fish/vendor_completions.d/sandbox.fish ./etc/apparmor.d/sandbox; do
  check "ships $f" grep -q " $f\$" <<<"$listing"
done
ctrl=$(mktemp -d)
trap 'rm -rf "$ctrl"' EXIT
dpkg-deb -e "$deb" "$ctrl"
check "the AppArmor profile is a conffile" grep -qx /etc/apparmor.d/sandbox "$ctrl/conffiles"
check "postinst is executable" test -x "$ctrl/postinst"
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./etc/apparmor.d/sandbox >"$ctrl/profile"
check "the profile names /usr/bin/sandbox" grep -q '^profile sandbox /usr/bin/sandbox flags=(unconfined)' "$ctrl/profile"
check "the profile grants userns" grep -qx '  userns,' "$ctrl/profile"

# --- Install, use, remove -------------------------------------------------------------------
installed=0
cleanup() {
  if [ "$installed" -eq 1 ]; then dpkg -P sandbox >/dev/null 2>&1 || true; fi
  rm -rf "$ctrl" "${work:-}"
}
trap cleanup EXIT
installed=1
if ! dpkg -i "$deb"; then
  # Depends that are missing come from the archive; that needs the network.
  apt-get install -f -y || { echo "FAIL: dpkg -i $deb"; exit 1; }
fi
check "installed /usr/bin/sandbox" test -x /usr/bin/sandbox
# postinst: an AppArmor too old for the profile (Debian 12's 3.0) must not load it at boot.
aa_disabled=0
if command -v apparmor_parser >/dev/null && [ ! -e /etc/apparmor.d/abi/4.0 ]; then
  aa_disabled=1
  check "postinst disabled the profile for this older AppArmor" test -L /etc/apparmor.d/disable/sandbox
fi
check "/usr/bin/sandbox has no setuid bit" test ! -u /usr/bin/sandbox
check "sandbox --version says $version" grep -q "$version" <<<"$(/usr/bin/sandbox --version)"
check "sandbox profiles lists the shipped ones" \
  grep -q '/usr/share/sandbox/profiles/default.yaml' <<<"$(/usr/bin/sandbox profiles)"

id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
work=$(mktemp -d /tmp/sandbox-deb-test.XXXXXX)
chown "$user:" "$work"
profile=ci
[ -f /usr/share/sandbox/profiles/ci.yaml ] || profile=default
run_as_user() { (cd "$work" && runuser -u "$user" -- env -u XDG_RUNTIME_DIR HOME="$(getent passwd "$user" | cut -d: -f6)" "$@"); }
check "as $user: sandbox run -p $profile -- true exits 0" run_as_user /usr/bin/sandbox run -p "$profile" -- true
check "as $user: the helper sandbox-desktop is found (desktop list)" run_as_user /usr/bin/sandbox desktop list

dpkg -r sandbox
gone=1
while read -r path; do
  [ "$path" = /etc/apparmor.d/sandbox ] && continue  # a conffile: dpkg -r keeps it
  [ -d "$path" ] && continue                             # shared directories stay
  if [ -e "$path" ]; then echo "left after dpkg -r: $path"; gone=0; fi
done < <(awk '{print $NF}' <<<"$listing" | sed 's|^\.||')
check "dpkg -r removed every file but the conffile" test "$gone" -eq 1
check "dpkg -r kept the conffile" test -e /etc/apparmor.d/sandbox
dpkg -P sandbox
installed=0
check "dpkg -P removed the AppArmor profile" test ! -e /etc/apparmor.d/sandbox
[ "$aa_disabled" -eq 0 ] || check "postrm removed the disable link" test ! -L /etc/apparmor.d/disable/sandbox
check "nothing left in /usr/bin" test ! -e /usr/bin/sandbox

echo "took $((SECONDS - t0)) s"
exit "$fail"
