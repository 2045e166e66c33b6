#!/usr/bin/env bash
# The whole SVIA pipeline, run like a user runs it: `svia anonymize IN -o OUT --method svia --preset P
# --work-size 1024x512 --report R.json --quiet [--steps S --harmonizer-steps H]` (release build) on a street still
# and on the first frames of a street video, with full-size random-weight models from a Hugging Face cache written by
# Scripts/bench/make_bench_hub.py (HF_HUB_CACHE=${SVIA_BENCH_HUB:-~/.cache/svia/bench-hub}; built once, ~7.3 GB).
# One JSON object per case:
#   {"area":"pipeline","case","svia_s","ref","ref_s","ratio","peak_rss_mb","unet_evals_per_frame","frames",
#    "work_size","preset","steps","stage_s",...,"est_full_s","est_full_unet_evals_per_frame"}
# svia_s / peak_rss_mb: wall time and maximum RSS of the whole svia process (/usr/bin/time -v), model loading
# included. Fields and the est_full_s formula: Scripts/bench/pipeline_lines.py. Then one line comparing fast's UNet
# evaluations per video frame with paper's per picture at full steps (ratio; target 1/50; paper's count from a
# still_paper run when there is one, else the preset's 520).
# Reference (same run, after svia, on the still, for the presets in SVIA_BENCH_REF_PRESETS, default "default
# fast"; paper also has one in pipeline_torch.py but doubles the run time): diffusers +
# transformers doing the same work (segmenter, one inpaint call per category svia inpainted, harmonizer) with the
# same steps; ratio = ref_s / svia_s. Cases without a comparable reference keep ref null.
#
# Step counts: the presets' full schedules are expensive here (paper: 520 UNet evaluations per picture, each
# ~20-45 s with its share of autoencoder work on these 2-core machines), so a preset whose inpainting schedule is
# longer than SVIA_BENCH_STEPS (default 1) runs with `--steps S --harmonizer-steps ceil(S / strength)` (both
# stages take S denoising steps) and its case name says so (still_default_steps1); est_full_s estimates the full
# run (formula in pipeline_lines.py).
# SVIA_BENCH_FULL=1 runs every preset at its own schedule. fast (1 step) always runs in full.
# Cases: SVIA_BENCH_CASES, default "still_default still_fast clip_fast" (about 26 minutes here, builds included);
# still_paper adds about 10 minutes (at reduced steps it is default's work with 5 passes; its full count is fixed:
# 520 evaluations per picture), clip_default and clip_paper are known too (a keyframe costs as much as a still,
# then every frame a reuse pass and a harmonizer pass). Other knobs:
# clip_PRESET_N (e.g. clip_fast_30) runs N frames of a moving street clip with known motion and exact label maps
# (Scripts/bench/moving_clip.py: pan, slow zoom, a car entering mid-clip) and adds fps, stage seconds, keyframes
# and the warp error inside the regions (this run, the source's floor, and --no-reuse on the first frames).
# SVIA_BENCH_FRAMES (clip length, default 4), SVIA_BENCH_STILL (SampleClips/scenetext05.jpg), SVIA_BENCH_CLIP
# (SampleClips/vtest.mp4), SVIA_BENCH_WORK_SIZE (1024x512), SVIA_BENCH_REF=0 skips the reference,
# SVIA_BENCH_DIR keeps outputs and reports there, SVIA_BENCH_SVIA runs that svia binary instead of building one
# (Scripts/bench/pipeline_selftest.sh checks this script with stand-ins for svia and the reference).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
PY="${SVIA_PYREF:-$HOME/.cache/svia/pyref}/bin/python"
HUB="${SVIA_BENCH_HUB:-$HOME/.cache/svia/bench-hub}"
STEPS="${SVIA_BENCH_STEPS:-1}"
FULL="${SVIA_BENCH_FULL:-0}"
FRAMES="${SVIA_BENCH_FRAMES:-4}"
STILL="${SVIA_BENCH_STILL:-SampleClips/scenetext05.jpg}"
CLIP="${SVIA_BENCH_CLIP:-SampleClips/vtest.mp4}"
WORK_SIZE="${SVIA_BENCH_WORK_SIZE:-1024x512}"
read -r -a CASES <<<"${SVIA_BENCH_CASES:-still_default still_fast clip_fast}"

for tool in ffmpeg /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "pipeline bench: $tool is required" >&2; exit 1; }
done
if [ ! -x "$PY" ]; then
  echo "pipeline bench: no reference environment at $PY (run Scripts/pyref.sh); it also generates the models" >&2
  exit 1
fi
"$PY" Scripts/bench/make_bench_hub.py "$HUB" >&2

if [ -n "${SVIA_BENCH_SVIA:-}" ]; then
  SVIA=$SVIA_BENCH_SVIA
else
  echo "pipeline bench: building svia (release)" >&2
  swift build -c release --product svia >&2
  SVIA="$(swift build -c release --show-bin-path)/svia"
fi

if [ -n "${SVIA_BENCH_DIR:-}" ]; then
  WORK=$SVIA_BENCH_DIR
  mkdir -p "$WORK"
else
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
fi
clip="$WORK/clip.mp4"
ffmpeg -v error -y -i "$CLIP" -frames:v "$FRAMES" -an -sn -dn -c:v libx264 -preset veryfast -crf 18 \
  -pix_fmt yuv420p "$clip"

: >"$WORK/svia.jsonl"
: >"$WORK/torch.jsonl"
for spec in "${CASES[@]}"; do
  kind=${spec%%_*} preset=${spec#*_} moving=""
  # clip_PRESET_N: N frames of the moving street clip (Scripts/bench/moving_clip.py) with its exact label maps.
  if [[ "$spec" =~ ^clip_([a-z]+)_([0-9]+)$ ]]; then preset=${BASH_REMATCH[1]} moving=${BASH_REMATCH[2]}; fi
  case "$kind" in still) input=$STILL ext=${STILL##*.} ;; clip) input=$clip ext=mp4 ;;
    *) echo "pipeline bench: unknown case $spec" >&2; exit 2 ;; esac
  args=() steps_opt=() case=$spec
  if [ -n "$moving" ]; then
    mdir="$WORK/moving$moving"
    [ -f "$mdir/clip.mp4" ] || "$PY" Scripts/bench/moving_clip.py make "$mdir" --frames "$moving" --size "$WORK_SIZE" >&2
    input="$mdir/clip.mp4"
  fi
  if [ "$FULL" != 1 ]; then
    read -r -a args <<<"$(python3 Scripts/bench/pipeline_lines.py run-args "$preset" "$STEPS")"
  fi
  if [ ${#args[@]} -gt 0 ]; then steps_opt=(--steps "$STEPS") case="${spec}_steps$STEPS"; fi
  out="$WORK/$case.$ext" report="$WORK/$case.report.json" timev="$WORK/$case.time"
  echo "pipeline bench: $case" >&2
  masks=()
  [ -n "$moving" ] && masks=(--masks "$mdir/masks" --detect none)
  if ! HF_HUB_CACHE="$HUB" /usr/bin/time -v -o "$timev" "$SVIA" anonymize "$input" -o "$out" --method svia \
      --preset "$preset" --work-size "$WORK_SIZE" --report "$report" --quiet "${masks[@]}" "${args[@]}" >&2; then
    echo "pipeline bench: svia failed on $case ($(tail -n 3 "$timev" | tr '\n' ' '))" >&2
    continue
  fi
  line=$(python3 Scripts/bench/pipeline_lines.py line --case "$case" --report "$report" --time "$timev" \
    --preset "$preset" --work-size "$WORK_SIZE" "${steps_opt[@]}")
  if [ -n "$moving" ]; then
    # Video figures: frames per second over every per-frame stage (decode and encode included, model loading
    # not), and the warp error inside the regions along the known motion: this run's, the source's own (the
    # metric's floor), and every frame painted afresh (--no-reuse) on the first SVIA_BENCH_NOREUSE_FRAMES frames
    # (default 6) with this run's error over the same frames beside it.
    nr=${SVIA_BENCH_NOREUSE_FRAMES:-6}
    ffmpeg -v error -y -i "$input" -frames:v "$nr" -c:v libx264 -crf 12 "$mdir/first.mp4"
    HF_HUB_CACHE="$HUB" "$SVIA" anonymize "$mdir/first.mp4" -o "$WORK/$case.noreuse.mp4" --method svia \
      --preset "$preset" --work-size "$WORK_SIZE" --masks "$mdir/masks/clip" --detect none --no-reuse --quiet \
      "${args[@]}" >&2 || echo "pipeline bench: --no-reuse run failed on $case" >&2
    line=$(python3 - "$line" "$report" \
      "$("$PY" Scripts/bench/moving_clip.py warp-error "$mdir" "$out")" \
      "$("$PY" Scripts/bench/moving_clip.py warp-error "$mdir" "$input")" \
      "$("$PY" Scripts/bench/moving_clip.py warp-error "$mdir" "$WORK/$case.noreuse.mp4" --frames "$nr" 2>/dev/null || echo '{}')" \
      "$("$PY" Scripts/bench/moving_clip.py warp-error "$mdir" "$out" --frames "$nr")" <<'PYEOF'
import json, sys
line, report = json.loads(sys.argv[1]), json.load(open(sys.argv[2]))
new, src, fresh, new_first = (json.loads(a) for a in sys.argv[3:7])
f = report["files"][0]
stages = f["svia"]["stageSeconds"]
line.update(frames=f["frames"], fps=round(f["frames"] / sum(stages.values()), 4), stage_s=stages,
            keyframes=f["svia"]["keyframes"], fresh_painted_frames=f["svia"].get("freshPaintedFrames"),
            unet_picture_evals_per_frame=round(f["svia"].get("unetPictureEvaluations", 0) / f["frames"], 3),
            warp_error=new.get("warp_error"), warp_error_source=src.get("warp_error"),
            warp_error_no_reuse_first=fresh.get("warp_error"), warp_error_first=new_first.get("warp_error"))
print(json.dumps(line))
PYEOF
)
  fi
  echo "$line" >>"$WORK/svia.jsonl"
done

# References after svia, so that nothing of theirs runs while svia is timed.
if [ "${SVIA_BENCH_REF:-1}" != 0 ]; then
  while read -r line; do
    read -r case preset full categories < <(python3 -c 'import json,sys; r=json.loads(sys.argv[1])
print(r["case"], r["preset"], r["steps"]["full"], ",".join(r["categories"]) or "-")' "$line")
    refs=" ${SVIA_BENCH_REF_PRESETS:-default fast} "
    [[ "$case" == still_* && "$refs" == *" $preset "* ]] || continue
    [ "$categories" = - ] && categories=""
    step_args=()
    if [ "$full" = False ]; then
      read -r -a step_args <<<"$(python3 Scripts/bench/pipeline_lines.py run-args "$preset" "$STEPS")"
    fi
    echo "pipeline bench: reference $case" >&2
    HF_HUB_CACHE="$HUB" HF_HUB_OFFLINE=1 "$PY" Scripts/bench/pipeline_torch.py --case "$case" --image "$STILL" \
      --preset "$preset" --work-size "$WORK_SIZE" --categories "$categories" "${step_args[@]}" \
      >>"$WORK/torch.jsonl" 2>"$WORK/$case.torch.err" ||
      echo "pipeline bench: no reference for $case: $(tail -n 1 "$WORK/$case.torch.err")" >&2
  done <"$WORK/svia.jsonl"
fi

python3 Scripts/bench/join_refs.py "$WORK/svia.jsonl" torch="$WORK/torch.jsonl"
python3 Scripts/bench/pipeline_lines.py evals-ratio "$WORK/svia.jsonl"
