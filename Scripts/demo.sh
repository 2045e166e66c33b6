#!/usr/bin/env bash
# The main job on the sample clips: sets up the machine, builds a release binary, anonymizes the
# samples into out/demo/, and prints what was written and what was stripped.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup.sh
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --product svia
svia=.build/release/svia
out=out/demo
mkdir -p "$out"

# What a dashcam file carries that anonymize removes by default.
$svia probe SampleClips/dashcam_synthetic.mp4

# Regions from the ground-truth Cityscapes label maps shipped with the samples.
inputs=()
for f in SampleClips/*; do
  case "$f" in *.mp4|*.jpg|*.png)
    stem=$(basename "${f%.*}")
    [ -e "SampleClips/labels/$stem" ] || [ -e "SampleClips/labels/$stem.png" ] && inputs+=("$f") ;;
  esac
done
$svia anonymize "${inputs[@]}" --masks SampleClips/labels --label-format trainIds --method blur \
  --dilate 2 -o "$out" --report "$out/report.json"
echo "outputs in $out (report: $out/report.json)"
