#!/usr/bin/env bash
# Benchmarks one area against a reference measured in the same run, one JSON object per line:
#   {"area","case","svia_s","ref","ref_s","ratio","peak_rss_mb"}   ratio = ref_s / svia_s (above 1: svia faster)
# Usage: Scripts/bench.sh AREA   (areas: io, engine, diffusion, segmenter, detectors, pipeline, scale)
set -euo pipefail
cd "$(dirname "$0")/.."
area="${1:-}"
shift || true
if [ -z "$area" ] || [ ! -x "Scripts/bench/$area.sh" ]; then
  echo "usage: Scripts/bench.sh AREA [options]; areas with a benchmark:" >&2
  ls Scripts/bench/*.sh 2>/dev/null | xargs -n1 basename | sed 's/\.sh$//; s/^/  /' >&2
  exit 2
fi
Scripts/setup.sh
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --product sviabench >&2
export SVIABENCH="$PWD/.build/release/sviabench"
exec "Scripts/bench/$area.sh" "$@"
