# Sourced by the install scripts (scripts/deps.sh, tests/system/setup.sh, tests/vm/setup.sh):
# the one place that asks dpkg what is installed.

# missing_packages PKG...: sets the array `missing` to the packages dpkg does not have installed.
missing_packages() {
  missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
}
