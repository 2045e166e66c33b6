#!/usr/bin/env bash
# Installs what svia needs to build and run: FFmpeg's libraries, OpenBLAS, pkg-config, and the
# ffmpeg/ffprobe command-line tools (used by tests and benchmarks as the reference).
# Idempotent: installs only what is missing. Debian/Ubuntu (apt) as root, or with sudo.
set -euo pipefail

packages=(libavcodec-dev libavformat-dev libswscale-dev libavutil-dev libopenblas-dev pkg-config ffmpeg)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
else
  echo "setup: this script installs Debian packages with apt; on other systems install:" >&2
  echo "  FFmpeg 5+ development files (libavformat, libavcodec, libswscale, libavutil), OpenBLAS," >&2
  echo "  pkg-config, the ffmpeg command-line tools, and Swift 6.0 or newer." >&2
  exit 1
fi

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  for d in /opt/swift/usr/bin /usr/share/swift/usr/bin; do [ -x "$d/swift" ] && export PATH="$d:$PATH"; done
fi
command -v swift >/dev/null 2>&1 || { echo "setup: Swift 6.0+ is required (https://swift.org/install)" >&2; exit 1; }
