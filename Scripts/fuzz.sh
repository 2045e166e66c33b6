#!/usr/bin/env bash
# Bad-input corpus: several hundred mutated videos, stills, label maps, safetensors checkpoints, SegFormer
# configs, ONNX detector models and prompts files, each run through the release svia under a time limit.
# Prints crashes, hangs, partial outputs and refusals that do not name the file, then "N passed, M failed";
# exits non-zero when any case fails. Not part of Scripts/test.sh (it takes several minutes).
# Options go to Scripts/fuzz/fuzz.py (--seed N, --timeout S, --kinds still,video,..., --keep).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
[ -x .build/release/svia ] || swift build -c release --product svia
exec python3 Scripts/fuzz/fuzz.py "$@"
