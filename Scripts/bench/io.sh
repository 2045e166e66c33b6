#!/usr/bin/env bash
# MediaIO benchmark: decode -> RGB24 -> encode (libx264) with svia versus the ffmpeg tool doing the same
# work (-threads 2, an rgb24 round trip, same preset and CRF), on generated 720p and 1080p clips, plus a
# long 1080p clip to show that memory stays flat. Prints one JSON object per line on stdout.
#
# Knobs (environment): SVIA_BENCH_SECONDS (short clips, default 10), SVIA_BENCH_LONG_SECONDS (long
# 1080p clip, default 60; 180 for the several-minute check, 0 to skip), SVIA_BENCH_PRESET (veryfast),
# SVIA_BENCH_CRF (18), SVIA_BENCH_THREADS (2), SVIA_BENCH_DIR (work folder, default a temporary one).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"

SECONDS_SHORT=${SVIA_BENCH_SECONDS:-10}
SECONDS_LONG=${SVIA_BENCH_LONG_SECONDS:-60}
PRESET=${SVIA_BENCH_PRESET:-veryfast}
CRF=${SVIA_BENCH_CRF:-18}
THREADS=${SVIA_BENCH_THREADS:-2}
if [ -n "${SVIA_BENCH_DIR:-}" ]; then WORK=$SVIA_BENCH_DIR; mkdir -p "$WORK"; else WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT; fi

for tool in ffmpeg ffprobe /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "io bench: $tool is required" >&2; exit 1; }
done

echo "io bench: building release" >&2
swift build -c release --product sviabench >&2
BIN="$(swift build -c release --show-bin-path)/sviabench"

# Camera-like content: moving detail, camera noise that changes every frame, 30 fps, H.264 High at a
# dashcam-like quality, with AAC audio (dropped by both sides).
make_clip() { # size seconds path
  [ -s "$3" ] && return 0
  echo "io bench: generating $1 ${2}s clip" >&2
  ffmpeg -v error -y -f lavfi -i "testsrc2=size=$1:rate=30" -f lavfi -i "sine=frequency=300:sample_rate=48000" \
    -t "$2" -vf "noise=alls=3:allf=t" -c:v libx264 -preset veryfast -crf 20 -pix_fmt yuv420p -c:a aac "$3"
}

now() { date +%s.%N; }

run_case() { # name input
  local name=$1 in=$2
  local out_s="$WORK/$name.svia.mp4" out_r="$WORK/$name.ffmpeg.mp4"
  echo "io bench: $name svia" >&2
  local svia_json
  svia_json=$(/usr/bin/time -f "%U %S" -o "$WORK/$name.svia.cpu" \
    "$BIN" io transcode "$in" "$out_s" --crf "$CRF" --preset "$PRESET" --threads "$THREADS")
  echo "io bench: $name ffmpeg" >&2
  local t0 t1
  t0=$(now)
  /usr/bin/time -f "%U %S %M" -o "$WORK/$name.ffmpeg.time" ffmpeg -v error -y -threads "$THREADS" -i "$in" \
    -filter_threads "$THREADS" -vf "format=rgb24,format=yuv420p" -an -c:v libx264 -preset "$PRESET" -crf "$CRF" \
    -threads "$THREADS" "$out_r"
  t1=$(now)
  python3 - "$name" "$svia_json" "$t0" "$t1" "$(cat "$WORK/$name.ffmpeg.time")" "$(cat "$WORK/$name.svia.cpu")" <<'PY'
import json, sys
name, svia, t0, t1, ref_time, svia_cpu = sys.argv[1:7]
ref_user, ref_sys, ref_rss_kb = ref_time.split()
su, ss = svia_cpu.split()
s = json.loads(svia)
ref_s = float(t1) - float(t0)
row = {"area": "io", "case": name, "svia_s": round(s["seconds"], 3), "ref": "ffmpeg", "ref_s": round(ref_s, 3),
       "ratio": round(ref_s / s["seconds"], 3), "peak_rss_mb": round(s["peak_rss_mb"], 1),
       "frames": s["frames"], "svia_fps": round(s["fps"], 1),
       "ref_peak_rss_mb": round(int(ref_rss_kb) / 1024, 1),
       # CPU seconds (user + system): steadier than wall time on a shared machine.
       "svia_cpu_s": round(float(su) + float(ss), 2), "ref_cpu_s": round(float(ref_user) + float(ref_sys), 2)}
if "rss_mb_10pct" in s:
    row["rss_mb_10pct"] = round(s["rss_mb_10pct"], 1)
if "rss_mb_90pct" in s:
    row["rss_mb_90pct"] = round(s["rss_mb_90pct"], 1)
print(json.dumps(row), flush=True)
PY
  # Same frame count and timestamps as the input.
  local a b
  a=$(ffprobe -v error -select_streams v:0 -show_entries packet=pts -of csv=p=0 "$in" | sort -n | md5sum)
  b=$(ffprobe -v error -select_streams v:0 -show_entries packet=pts -of csv=p=0 "$out_s" | sort -n | md5sum)
  [ "$a" = "$b" ] || echo "io bench: WARNING $name output timestamps differ from the input" >&2
  rm -f "$out_s" "$out_r"
}

make_clip 1280x720 "$SECONDS_SHORT" "$WORK/720p.mp4"
make_clip 1920x1080 "$SECONDS_SHORT" "$WORK/1080p.mp4"
run_case 720p "$WORK/720p.mp4"
run_case 1080p "$WORK/1080p.mp4"
if [ "$SECONDS_LONG" != 0 ]; then
  make_clip 1920x1080 "$SECONDS_LONG" "$WORK/1080p-long.mp4"
  run_case "1080p-${SECONDS_LONG}s" "$WORK/1080p-long.mp4"
fi
