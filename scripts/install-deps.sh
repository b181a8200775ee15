#!/usr/bin/env bash
# Installs the system packages MySehat needs on Debian/Ubuntu when they are missing.
# Swift itself (6.2+) is expected on PATH (see README).
set -euo pipefail

packages=(liblua5.4-dev libsqlite3-dev libjpeg-dev libpng-dev libwebp-dev pkg-config python3)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "Installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
