#!/usr/bin/env bash
# The Debian packages the test suite needs beyond Python: a PostgreSQL server (adapter-parity tests start a
# throwaway cluster), a Redis server (the Celery broker of the distributed deployment test) and Chromium with its
# driver (dashboard and Airflow UI browser tests).
# Idempotent: installs only what is missing, so a second run is a fast no-op. Runs as root or through sudo.
set -euo pipefail

PACKAGES=(postgresql redis-server chromium chromium-driver)

installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]
}

missing=()
for package in "${PACKAGES[@]}"; do
  installed "$package" || missing+=("$package")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "scripts/setup-os.sh: missing ${missing[*]}; run this script as root (or install sudo)" >&2
  exit 1
fi

echo "scripts/setup-os.sh: installing ${missing[*]}"
# Another apt process (an image build, a parallel job) may hold the dpkg lock: wait for it instead of failing.
apt_get=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q)
"${apt_get[@]}" update
"${apt_get[@]}" install -y --no-install-recommends "${missing[@]}"
