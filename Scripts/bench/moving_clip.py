#!/usr/bin/env python3
"""A moving street clip with known motion and exact label maps, and the temporal metric that judges video.

  moving_clip.py make DIR [--frames 30] [--size 1024x512] [--pan 3] [--zoom 0.003] [--enter-at 10]
      DIR/clip.mp4 (10 fps, H.264 CRF 12), DIR/masks/clip/%06d.png (Cityscapes trainIds) and DIR/motion.json.
      The street is SampleClips/scenetext05.jpg with its labels (Scripts/samples/label_stills.py), seen through a
      window that pans right `pan` source pixels a frame and zooms in by `zoom` a frame (bilinear for the
      picture, nearest for the labels, so both move identically). From frame `enter-at` a car (the body of
      licenseplate_motion.jpg) drives in from the left edge at 12 pixels a frame: new content mid-clip.
  moving_clip.py warp-error DIR VIDEO [--frames N]
      One JSON object: the mean absolute difference (0-255, RGB) between consecutive frames of VIDEO along the
      known motion of the street, over pixels inside privacy regions of both frames (eroded by 3 pixels, the
      entering car and its surroundings left out), for the first N frames (default all). Run on DIR/clip.mp4
      itself it gives the metric's floor (resampling and codec noise of the source).
Needs numpy and the ffmpeg/ffprobe tools.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "Scripts", "samples"))
from labelkit import CAR, read_rgb, render, write_png  # noqa: E402
from label_stills import STILLS  # noqa: E402

FPS = 10
PRIVACY_TRAIN_IDS = [0, 1, 2, 3, 4, 6, 7, 11, 12, 13, 14, 15, 16, 17, 18]
CAR_W, CAR_H, CAR_Y, CAR_SPEED = 160, 100, 0.55, 12


def window(t, meta):
    """Frame t's window on the street: centre (x, y) and width in street pixels."""
    w0 = meta["street_w"] * 0.8
    return (meta["street_w"] * 0.45 + meta["pan"] * t, meta["street_h"] * 0.5, w0 / (1 + meta["zoom"]) ** t)


def street_coords(t, meta):
    """Street coordinates (x, y) of every pixel centre of frame t."""
    w, h = meta["width"], meta["height"]
    cx, cy, ww = window(t, meta)
    k = ww / w
    xs = cx + (np.arange(w) + 0.5 - w / 2) * k - 0.5
    ys = cy + (np.arange(h) + 0.5 - h / 2) * k - 0.5
    return np.meshgrid(xs, ys)


def bilinear(img, x, y):
    h, w = img.shape[:2]
    x = np.clip(x, 0, w - 1)
    y = np.clip(y, 0, h - 1)
    x0 = np.floor(x).astype(int)
    y0 = np.floor(y).astype(int)
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    fx = (x - x0)[..., None]
    fy = (y - y0)[..., None]
    img = img.astype(np.float32)
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def car_box(t, meta):
    """The entering car's box in frame t (x0, y0, x1, y1), or None before it enters."""
    if t < meta["enter_at"]:
        return None
    x1 = CAR_SPEED * (t - meta["enter_at"] + 1)
    y0 = int(meta["height"] * CAR_Y)
    return (x1 - CAR_W, y0, x1, y0 + CAR_H)


def make(args):
    width, height = (int(v) for v in args.size.split("x"))
    street = read_rgb(os.path.join(ROOT, "SampleClips", "scenetext05.jpg"))
    labels = render(street.shape[0], street.shape[1], STILLS["scenetext05"])
    car = read_rgb(os.path.join(ROOT, "SampleClips", "licenseplate_motion.jpg"))[150:400, 100:500]
    car = car[(np.arange(CAR_H) * car.shape[0] // CAR_H)][:, (np.arange(CAR_W) * car.shape[1] // CAR_W)]
    meta = {"frames": args.frames, "width": width, "height": height, "pan": args.pan, "zoom": args.zoom,
            "enter_at": args.enter_at, "street_w": street.shape[1], "street_h": street.shape[0]}
    os.makedirs(os.path.join(args.dir, "masks", "clip"), exist_ok=True)
    enc = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
         "-r", str(FPS), "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-crf", "12", "-pix_fmt", "yuv420p",
         os.path.join(args.dir, "clip.mp4")], stdin=subprocess.PIPE)
    for t in range(args.frames):
        x, y = street_coords(t, meta)
        img = np.clip(bilinear(street, x, y) + 0.5, 0, 255).astype(np.uint8)
        lab = labels[np.clip(np.rint(y).astype(int), 0, street.shape[0] - 1),
                     np.clip(np.rint(x).astype(int), 0, street.shape[1] - 1)]
        box = car_box(t, meta)
        if box:
            x0, y0, x1, y1 = box
            a, b = max(0, x0), min(width, x1)
            if b > a:
                img[y0:y1, a:b] = car[:, a - x0:b - x0]
                lab[y0:y1, a:b] = CAR
        enc.stdin.write(img.tobytes())
        write_png(os.path.join(args.dir, "masks", "clip", f"{t:06d}.png"), lab)
    enc.stdin.close()
    if enc.wait() != 0:
        sys.exit("moving_clip: ffmpeg failed")
    with open(os.path.join(args.dir, "motion.json"), "w") as f:
        json.dump(meta, f, indent=1)


def read_frames(path, width, height):
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, height, width, 3)


def read_labels(path):
    rgb = read_rgb(path)
    return rgb[..., 0]


def erode(mask, r):
    out = mask.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out &= np.roll(np.roll(mask, dy, axis=0), dx, axis=1)
    out[:r] = out[-r:] = False
    out[:, :r] = out[:, -r:] = False
    return out


def warp_error(args):
    with open(os.path.join(args.dir, "motion.json")) as f:
        meta = json.load(f)
    w, h = meta["width"], meta["height"]
    frames = read_frames(args.video, w, h).astype(np.float32)
    n = min(len(frames), args.frames or len(frames))
    total, count = 0.0, 0
    inside = None
    for t in range(n):
        lab = read_labels(os.path.join(args.dir, "masks", "clip", f"{t:06d}.png"))
        region = erode(np.isin(lab, PRIVACY_TRAIN_IDS), 3)
        box = car_box(t, meta)
        if box:
            x0, y0, x1, y1 = box
            region[max(0, y0 - 8):y1 + 8, max(0, x0 - 8):max(0, x1 + 8)] = False
        if t > 0:
            # Where each pixel of frame t was in frame t-1: through the street's coordinates.
            x, y = street_coords(t, meta)
            cx, cy, ww = window(t - 1, meta)
            k = ww / w
            px = (x + 0.5 - cx) / k + w / 2 - 0.5
            py = (y + 0.5 - cy) / k + h / 2 - 0.5
            ok = region & (px >= 0) & (px <= w - 1) & (py >= 0) & (py <= h - 1)
            ok &= bilinear(inside.astype(np.float32)[..., None], px, py)[..., 0] > 0.999
            prev = bilinear(frames[t - 1], px, py)
            diff = np.abs(frames[t] - prev)[ok]
            total += float(diff.sum())
            count += diff.size
        inside = region
    print(json.dumps({"warp_error": round(total / max(1, count), 3), "frames": n, "pixels": count // 3}))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("dir")
    m.add_argument("--frames", type=int, default=30)
    m.add_argument("--size", default="1024x512")
    m.add_argument("--pan", type=float, default=3)
    m.add_argument("--zoom", type=float, default=0.003)
    m.add_argument("--enter-at", type=int, default=10)
    e = sub.add_parser("warp-error")
    e.add_argument("dir")
    e.add_argument("video")
    e.add_argument("--frames", type=int, default=0)
    args = p.parse_args()
    make(args) if args.cmd == "make" else warp_error(args)


if __name__ == "__main__":
    main()
