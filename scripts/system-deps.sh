#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages a target needs: as root with apt-get, otherwise it
# stops and names them. Usage: scripts/system-deps.sh run|test
set -euo pipefail
case "${1:-run}" in
  run)  pkgs=(python3-venv libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core) ;;
  test) pkgs=(python3-venv libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core poppler-utils chromium) ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac
# python3-venv is only a Debian package when python3 is Debian's own.
if python3 -c 'import venv, ensurepip' 2>/dev/null; then pkgs=("${pkgs[@]/python3-venv}"); fi
missing=()
for p in "${pkgs[@]}"; do
  [ -z "$p" ] && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing system packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
