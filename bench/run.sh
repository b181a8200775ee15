#!/usr/bin/env bash
# Builds the release binary if needed and runs the benchmark (see bench/run.py --help).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "installing wrk and nginx (with ngx_lua) for the peer runs"; sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo; $sudo apt-get install -y -qq wrk nginx libnginx-mod-http-lua; }
[ -x .build/release/mysehat ] || swift build -c release --product mysehat
exec python3 bench/run.py "$@"
