#!/usr/bin/env bash
# The main job on the sample clips: sets up the machine, builds a release binary and anonymizes the
# samples into out/demo/, printing what each file carried and what was written.
#   1. What a dashcam file carries that anonymize removes by default (svia probe).
#   2. The dashcam clip, the in-car face clip and two street stills, with the regions svia finds itself:
#      a SegFormer checkpoint from the Hugging Face cache when one is there, and always the shipped face
#      and text detectors (plates, sign text, the burned-in timestamp/GPS/speed overlay).
#   3. The samples that carry ground-truth Cityscapes label maps, with every category replaced.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup.sh
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --product svia
svia=.build/release/svia
out=out/demo
mkdir -p "$out/found" "$out/labeled"

echo "== 1. svia probe SampleClips/dashcam_synthetic.mp4"
$svia probe SampleClips/dashcam_synthetic.mp4

echo "== 2. regions found by svia"
$svia anonymize SampleClips/dashcam_synthetic.mp4 SampleClips/carphone_pristine.mp4 \
  SampleClips/licenseplate_motion.jpg SampleClips/scenetext01.jpg --method blur \
  -o "$out/found" --report "$out/found/report.json"

echo "== 3. regions from the ground-truth label maps (SampleClips/labels)"
inputs=()
for f in SampleClips/*; do
  case "$f" in *.mp4|*.jpg|*.png)
    stem=$(basename "${f%.*}")
    if [ -e "SampleClips/labels/$stem" ] || [ -e "SampleClips/labels/$stem.png" ]; then inputs+=("$f"); fi ;;
  esac
done
$svia anonymize "${inputs[@]}" --masks SampleClips/labels --label-format trainIds --method blur \
  --dilate 2 -o "$out/labeled" --report "$out/labeled/report.json"
echo "outputs in $out (reports: $out/found/report.json, $out/labeled/report.json)"
