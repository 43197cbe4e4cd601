#!/usr/bin/env bash
# Installs the system packages ivs-recorder builds and tests with, on Debian 12:
# the FFmpeg 5.1 libraries and headers (ffmpeg-next links them), clang (bindgen), pkg-config,
# the ffmpeg CLI (tests generate media with it and compare against it), and python3 with venv
# (scripts/test.sh installs SeaweedFS from PyPI into a virtual environment), openssl (the RTMPS
# test makes a self-signed certificate with it) and prometheus (its `promtool` checks /metrics).
# Does nothing when everything is already installed. Runs apt-get through sudo when not root.
set -euo pipefail

packages=(
  pkg-config clang libclang-dev
  libavcodec-dev libavformat-dev libavutil-dev libavfilter-dev libavdevice-dev
  libswscale-dev libswresample-dev
  ffmpeg
  python3 python3-venv openssl
  prometheus
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
