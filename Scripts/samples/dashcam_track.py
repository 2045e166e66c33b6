#!/usr/bin/env python3
"""Write the made-up GPS track of dashcam_synthetic: an SRT of NMEA sentences and overlay texts.

Usage: dashcam_track.py OUT_DIR SECONDS

OUT_DIR/gps.srt: one cue per second, each holding a $GPRMC and a $GPGGA sentence (valid
checksums), like the subtitle GPS tracks that dashcams write.
OUT_DIR/overlay_<k>.txt: the burned-in text for second k, e.g.
"2026-05-14 08:31:07  N48.8584 E2.2945  52 km/h".
The track starts at 48.8584 N, 2.2945 E on 2026-05-14 08:31:07 UTC and heads north-east.
"""
import os
import sys

START_H, START_M, START_S = 8, 31, 7
LAT0, LON0 = 48.8584, 2.2945
SPEEDS_KMH = [52, 53, 51, 50, 52, 54]


def nmea(body):
    cs = 0
    for ch in body:
        cs ^= ord(ch)
    return f"${body}*{cs:02X}"


def dm(value, deg_digits):
    deg = int(value)
    minutes = (value - deg) * 60
    return f"{deg:0{deg_digits}d}{minutes:07.4f}"


def srt_time(sec):
    return f"00:00:{sec:02d},000"


def main():
    out, seconds = sys.argv[1], int(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    cues = []
    for k in range(seconds):
        lat = LAT0 + 0.00011 * k
        lon = LON0 + 0.00008 * k
        kmh = SPEEDS_KMH[k % len(SPEEDS_KMH)]
        knots = kmh / 1.852
        hh, mm, ss = START_H, START_M, START_S + k
        hms = f"{hh:02d}{mm:02d}{ss:02d}.000"
        rmc = nmea(f"GPRMC,{hms},A,{dm(lat, 2)},N,{dm(lon, 3)},E,{knots:.2f},27.5,140526,,,A")
        gga = nmea(f"GPGGA,{hms},{dm(lat, 2)},N,{dm(lon, 3)},E,1,09,0.9,35.0,M,47.0,M,,")
        cues.append(f"{k + 1}\n{srt_time(k)} --> {srt_time(k + 1)}\n{rmc}\n{gga}\n")
        with open(os.path.join(out, f"overlay_{k}.txt"), "w") as f:
            f.write(f"2026-05-14 {hh:02d}:{mm:02d}:{ss:02d}  N{lat:.4f} E{lon:.4f}  {kmh} km/h")
    with open(os.path.join(out, "gps.srt"), "w") as f:
        f.write("\n".join(cues))


if __name__ == "__main__":
    main()
