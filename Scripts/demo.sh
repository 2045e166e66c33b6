#!/usr/bin/env bash
# The main job on the sample clips: sets up the machine, builds a release binary and anonymizes the
# samples into out/demo/, printing what each file carried and what was written.
#   1. What a dashcam file carries that anonymize removes by default (svia probe).
#   2. The SVIA pipeline (--method svia) when its models are in the Hugging Face cache: the fast preset on
#      the dashcam clip (video, temporal reuse) and a street still (or the default preset on the still when only the
#      SD 2 models are there). Otherwise it says which models are missing and how to get them, and step 3
#      shows what runs without them.
#   3. The dashcam clip, the in-car face clip and two street stills, with the regions svia finds itself:
#      a SegFormer checkpoint from the Hugging Face cache when one is there, and always the shipped face
#      and text detectors (plates, sign text, the burned-in timestamp/GPS/speed overlay).
#   4. The samples that carry ground-truth Cityscapes label maps, with every category replaced.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/setup.sh
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --product svia
svia=.build/release/svia
out=out/demo
mkdir -p "$out/found" "$out/labeled" "$out/svia"

echo "== 1. svia probe SampleClips/dashcam_synthetic.mp4"
$svia probe SampleClips/dashcam_synthetic.mp4

have() { for id in "$@"; do $svia models path "$id" >/dev/null 2>&1 || return 1; done; }
segformer=""
for b in 0 1 2 3 4 5; do if have "segformer-b$b"; then segformer=yes; break; fi; done
echo "== 2. the SVIA pipeline (--method svia)"
if [ -n "$segformer" ] && have sd-turbo taesd; then
  # The whole 3-second clip with temporal reuse, at a quarter of the paper's working size to keep the demo short.
  $svia anonymize SampleClips/dashcam_synthetic.mp4 --preset fast --work-size 512x256 \
    -o "$out/svia/dashcam_synthetic.mp4" --report "$out/svia/report_clip.json"
  $svia anonymize SampleClips/scenetext01.jpg --preset fast -o "$out/svia/scenetext01.jpg" \
    --report "$out/svia/report_still.json"
elif [ -n "$segformer" ] && have sd2-inpainting sd2; then
  $svia anonymize SampleClips/scenetext01.jpg --preset default -o "$out/svia/scenetext01.jpg" \
    --report "$out/svia/report_still.json"
else
  echo "The SVIA pipeline's models are not in the Hugging Face cache."
  echo "What it would need, and how to get it (svia stops like this before any work):"
  $svia anonymize SampleClips/scenetext01.jpg --preset fast -o "$out/svia/scenetext01.jpg" --quiet || true
  echo "Skipping to what runs without them: the shipped detectors and the baseline methods."
fi

echo "== 3. regions found by svia (shipped detectors, and the segmenter when present)"
$svia anonymize SampleClips/dashcam_synthetic.mp4 SampleClips/carphone_pristine.mp4 \
  SampleClips/licenseplate_motion.jpg SampleClips/scenetext01.jpg --method blur \
  -o "$out/found" --report "$out/found/report.json"

echo "== 4. regions from the ground-truth label maps (SampleClips/labels)"
inputs=()
for f in SampleClips/*; do
  case "$f" in *.mp4|*.jpg|*.png)
    stem=$(basename "${f%.*}")
    if [ -e "SampleClips/labels/$stem" ] || [ -e "SampleClips/labels/$stem.png" ]; then inputs+=("$f"); fi ;;
  esac
done
$svia anonymize "${inputs[@]}" --masks SampleClips/labels --label-format trainIds --method blur \
  --dilate 2 -o "$out/labeled" --report "$out/labeled/report.json"
echo "outputs in $out (reports: $out/svia/, $out/found/report.json, $out/labeled/report.json)"
