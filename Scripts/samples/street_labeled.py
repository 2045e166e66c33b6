#!/usr/bin/env python3
"""Render street_labeled.mp4 and its exact per-frame Cityscapes trainId label maps.

Usage: street_labeled.py SRC_DIR OUT_DIR

SRC_DIR holds scenetext05.jpg, scenetext01.jpg and licenseplate_motion.jpg (from opencv-doc).
Writes OUT_DIR/street_labeled.mp4 (640x360, 10 fps, 25 frames, H.264) and
OUT_DIR/labels/street_labeled/%06d.png (0-based frame index).

Background: scenetext05 halved to 640x480 and cropped to rows 60..419, labelled with the
scenetext05 polygons from label_stills.py scaled by 1/2. Moving on top of it, pasted at known
positions so the labels are exact by construction:
  * a car: the rectangle x 100..499, y 150..399 of licenseplate_motion.jpg (entirely car body),
    resized to 120x75 (nearest), driving across the road at the upper right -> trainId 13;
  * a person: the right-hand pedestrian of scenetext01.jpg, cut out with her label polygon
    (used as the alpha mask), resized by 1/2 (nearest), walking over the sidewalk -> trainId 11.
"""
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labelkit import CAR, PERSON, polygon_mask, read_rgb, render, write_png  # noqa: E402
from label_stills import STILLS  # noqa: E402

W, H, FPS, FRAMES = 640, 360, 10, 25
CROP_Y = 60


def nearest(img, w, h):
    ys = np.arange(h) * img.shape[0] // h
    xs = np.arange(w) * img.shape[1] // w
    return img[ys][:, xs]


def main():
    src, out = sys.argv[1], sys.argv[2]
    bg_full = read_rgb(os.path.join(src, "scenetext05.jpg")).astype(np.uint16)
    bg = ((bg_full[0::2, 0::2] + bg_full[1::2, 0::2] + bg_full[0::2, 1::2] + bg_full[1::2, 1::2] + 2) // 4)
    bg = bg.astype(np.uint8)[CROP_Y:CROP_Y + H]
    half = [(lab, [(x / 2, y / 2) for x, y in pts]) for lab, pts in STILLS["scenetext05"]]
    bg_lab = render(480, 640, half)[CROP_Y:CROP_Y + H]

    car = nearest(read_rgb(os.path.join(src, "licenseplate_motion.jpg"))[150:400, 100:500], 120, 75)

    st01 = read_rgb(os.path.join(src, "scenetext01.jpg"))
    person_poly = STILLS["scenetext01"][-1][1]
    assert STILLS["scenetext01"][-1][0] == PERSON
    x0, y0, x1, y1 = 674, 362, 800, 600
    pmask = polygon_mask(600, 800, person_poly)[y0:y1, x0:x1]
    pw, ph = (x1 - x0) // 2, (y1 - y0) // 2
    person = nearest(st01[y0:y1, x0:x1], pw, ph)
    pmask = nearest(pmask, pw, ph)

    os.makedirs(os.path.join(out, "labels", "street_labeled"), exist_ok=True)
    enc = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{W}x{H}",
         "-r", str(FPS), "-i", "-", "-c:v", "libx264", "-threads", "1", "-preset", "medium", "-crf", "23",
         "-pix_fmt", "yuv420p", "-g", str(FPS), "-fflags", "+bitexact", "-flags:v", "+bitexact",
         "-map_metadata", "-1", "-movflags", "+faststart", os.path.join(out, "street_labeled.mp4")],
        stdin=subprocess.PIPE)
    for n in range(FRAMES):
        img = bg.copy()
        lab = bg_lab.copy()
        # car: from (440, 20) to (512, 68), constant speed
        cx, cy = 440 + 3 * n, 20 + 2 * n
        img[cy:cy + 75, cx:cx + 120] = car
        lab[cy:cy + 75, cx:cx + 120] = CAR
        # person: from (20, 215) to (140, 239)
        px, py = 20 + 5 * n, 215 + n
        region = img[py:py + ph, px:px + pw]
        region[pmask] = person[pmask]
        lab[py:py + ph, px:px + pw][pmask] = PERSON
        enc.stdin.write(img.tobytes())
        write_png(os.path.join(out, "labels", "street_labeled", f"{n:06d}.png"), lab)
    enc.stdin.close()
    if enc.wait() != 0:
        sys.exit("ffmpeg failed")


if __name__ == "__main__":
    main()
