"""Tracker time per frame on one core, on real footage; prints a Markdown table.

Decode excluded: the tracker's own work (landmarks, filter, pose, features, weights).
Decode included: plus reading the frame from the file (and resizing, for the 640x480 row). Also how often the full
detector ran (it costs 15-90 ms; tracking from the previous landmarks costs ~2).
Run: .venv/bin/python benchmarks/tracker_speed.py
"""

import os
import statistics
import time

import cv2

from common import DATA, one_core

from tracker_service.pipeline import FaceTracker
# (clip, size to resize to or None): 640x480 is the common webcam size; cap12 is 4:3.
CLIPS = (("webcam_cap12.mp4", None), ("webcam_cap12.mp4", (640, 480)), ("talk_s18_720p.mp4", None))


def measure(path, size=None):
    cap = cv2.VideoCapture(path)
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    w, h = size or (int(cap.get(3)), int(cap.get(4)))
    tracker = FaceTracker(w, h, fps)
    work, total = [], []
    index = 0
    while True:
        t0 = time.perf_counter()
        ok, frame = cap.read()
        if not ok:
            break
        if size:
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
        t1 = time.perf_counter()
        tracker.process(frame, index / fps)
        t2 = time.perf_counter()
        work.append(t2 - t1)
        total.append(t2 - t0)
        index += 1
    return {"clip": os.path.basename(path), "size": "%dx%d" % (w, h), "frames": index,
            "work_ms": statistics.median(work) * 1e3, "total_ms": statistics.median(total) * 1e3,
            "detections": tracker.landmarks.detections, "checks": tracker.landmarks.checks}


def main():
    one_core()
    rows = [measure(os.path.join(DATA, "video", c), size) for c, size in CLIPS]
    print("| clip | size | frames | median ms/frame, decode excluded | fps | median ms/frame, decode included "
          "| full detector runs | crop confirmations |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %d | %.2f | %.0f | %.2f | %d | %d |" % (
            r["clip"], r["size"], r["frames"], r["work_ms"], 1000.0 / r["work_ms"], r["total_ms"],
            r["detections"], r["checks"]))


if __name__ == "__main__":
    main()
