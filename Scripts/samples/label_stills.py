#!/usr/bin/env python3
"""Hand-drawn Cityscapes trainId label maps for the sample stills.

Usage: label_stills.py SAMPLE_DIR [--preview DIR]

Reads SAMPLE_DIR/<name>.jpg only for its size (and for --preview), writes
SAMPLE_DIR/labels/<name>.png: 8-bit single-channel, trainIds, 255 = unlabeled.
The polygons below were drawn by looking at each image; they are coarse (a few
to a few dozen pixels off at object borders) but cover the objects. Layers are
painted in order, later ones on top.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from labelkit import *  # noqa: E402,F401,F403

STILLS = {
    # 800x600: parking notice on a pole, hedge, building, silver estate car, two pedestrians,
    # newspaper boxes (not a Cityscapes class: left unlabeled)
    "scenetext01": [
        (VEGETATION, rect(0, 0, 800, 420)),
        (BUILDING, [(160, 320), (300, 310), (300, 392), (160, 392)]),
        (BUILDING, [(470, 175), (800, 140), (800, 395), (470, 395)]),
        (VEGETATION, [(95, 388), (740, 390), (740, 430), (700, 440), (400, 470), (262, 500), (95, 425)]),
        (SIDEWALK, [(262, 500), (400, 470), (400, 560), (262, 560)]),
        (ROAD, [(262, 555), (400, 550), (560, 575), (680, 570), (800, 560), (800, 600), (262, 600)]),
        (CAR, [(68, 425), (140, 428), (150, 470), (140, 495), (68, 495)]),
        (CAR, [(398, 472), (420, 445), (470, 428), (520, 420), (640, 425), (690, 440), (702, 470),
               (700, 560), (650, 578), (560, 578), (420, 562), (398, 545)]),
        (POLE, rect(300, 262, 402, 600)),
        (POLE, rect(332, 0, 402, 22)),
        (TRAFFIC_SIGN, rect(256, 18, 442, 270)),
        (UNLABELED, [(110, 415), (212, 415), (215, 495), (262, 495), (262, 600), (110, 600)]),
        (UNLABELED, rect(55, 495, 110, 600)),
        (PERSON, [(0, 316), (45, 316), (70, 342), (85, 390), (106, 430), (104, 495), (76, 500),
                  (72, 600), (0, 600)]),
        (PERSON, [(742, 362), (782, 362), (800, 385), (800, 600), (688, 600), (674, 585), (688, 462),
                  (718, 415), (742, 408)]),
    ],
    # 1280x960: kerb-side barriers with NO PARKING plates, road, sidewalk, dirt verge, van, dark car
    "scenetext05": [
        (ROAD, rect(0, 0, 1280, 960)),
        (SIDEWALK, [(0, 305), (40, 298), (232, 330), (472, 452), (702, 645), (905, 960), (0, 960)]),
        (TERRAIN, [(430, 420), (1280, 650), (1280, 960), (905, 960), (702, 645), (472, 452)]),
        (CAR, [(120, 0), (290, 0), (288, 45), (270, 52), (180, 62), (128, 62), (120, 35)]),
        (CAR, [(0, 130), (35, 135), (55, 170), (55, 225), (20, 250), (0, 250)]),
        (FENCE, [(0, 72), (20, 58), (282, 80), (315, 108), (304, 368), (276, 352), (0, 308)]),
        (FENCE, [(278, 610), (330, 170), (352, 118), (805, 160), (840, 200), (815, 605), (830, 640),
                 (760, 640), (748, 600), (332, 578), (325, 640), (275, 628)]),
        (TRAFFIC_SIGN, rect(84, 168, 228, 225)),
        (TRAFFIC_SIGN, rect(467, 308, 698, 397)),
    ],
    # 640x480 (shot through a window): yellow and white buildings, shop signs (building),
    # no-entry sign on a pole, red car, pedestrian at the lower right
    "scenetext06": [
        (BUILDING, rect(0, 0, 640, 480)),
        (SKY, [(0, 0), (340, 0), (340, 8), (292, 46), (218, 66), (218, 4), (176, 4), (176, 72), (156, 72),
               (154, 27), (98, 30), (94, 48), (40, 56), (8, 58), (8, 18), (0, 18)]),
        (ROAD, [(140, 468), (225, 462), (225, 480), (140, 480)]),
        (CAR, [(84, 448), (95, 420), (128, 400), (150, 391), (216, 390), (222, 420), (222, 470),
               (200, 480), (90, 475)]),
        (POLE, rect(120, 305, 136, 480)),
        (POLE, rect(68, 305, 130, 320)),
        (TRAFFIC_SIGN, rect(80, 320, 110, 364)),
        (PERSON, [(548, 450), (560, 443), (575, 452), (585, 470), (585, 480), (545, 480)]),
    ],
    # 600x482: motion-blurred rear of a saloon car with its plate; background too blurred to label
    "licenseplate_motion": [
        (CAR, [(95, 38), (500, 34), (542, 90), (580, 170), (592, 250), (588, 400), (520, 425), (80, 425),
               (8, 400), (0, 300), (8, 200), (40, 138), (70, 70)]),
    ],
    # 768x576: road bicycle and a dog on a porch, street with a white pickup truck (truck) and a
    # parked red scooter (motorcycle) beyond; the dog and the porch floor are left unlabeled
    "dog": [
        (VEGETATION, [(40, 0), (768, 0), (768, 100), (690, 112), (620, 62), (500, 82), (420, 100),
                      (330, 110), (290, 112), (290, 200), (240, 200), (240, 118), (150, 95), (60, 60)]),
        (ROAD, [(65, 92), (470, 88), (732, 108), (732, 226), (65, 212)]),
        (TRUCK, [(470, 142), (476, 96), (490, 76), (592, 76), (626, 104), (682, 116), (692, 140),
                 (688, 170), (650, 172), (520, 160), (474, 152)]),
        (MOTORCYCLE, rect(54, 68, 114, 124)),
        (BUILDING, [(0, 0), (40, 0), (80, 232), (0, 242)]),
        (BUILDING, [(738, 0), (768, 0), (768, 576), (722, 576), (714, 412), (734, 220)]),
        (BUILDING, [(0, 226), (62, 214), (732, 214), (768, 260), (768, 430), (0, 400)]),
        (BICYCLE, [(136, 145), (168, 143), (205, 158), (248, 160), (252, 190), (240, 210), (400, 204),
                   (410, 160), (384, 140), (442, 134), (464, 140), (430, 156), (422, 205), (470, 238),
                   (532, 256), (562, 300), (566, 345), (546, 392), (500, 418), (440, 418), (400, 392),
                   (384, 352), (330, 352), (300, 340), (200, 365), (140, 362), (126, 300), (136, 262),
                   (160, 242), (210, 236), (225, 205), (175, 212), (155, 178)]),
        (UNLABELED, [(135, 452), (150, 330), (210, 250), (232, 224), (268, 222), (302, 240), (302, 276),
                     (282, 300), (276, 380), (302, 466), (262, 482), (276, 512), (240, 538), (185, 532),
                     (150, 500)]),
    ],
}


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    preview = sys.argv[sys.argv.index("--preview") + 1] if "--preview" in sys.argv else None
    os.makedirs(os.path.join(root, "labels"), exist_ok=True)
    for name, layers in STILLS.items():
        rgb = read_rgb(os.path.join(root, name + ".jpg"))
        h, w = rgb.shape[:2]
        labels = render(h, w, layers)
        write_png(os.path.join(root, "labels", name + ".png"), labels)
        if preview:
            os.makedirs(preview, exist_ok=True)
            write_png(os.path.join(preview, name + "_overlay.png"), overlay(rgb, labels))


if __name__ == "__main__":
    main()
