"""Pupil finder: time per eye on one core, and the checks of tests/tracker/test_pupils.py as tables.

Prints Markdown: the median time of pupils.locate() per eye on every frame of
the labelled clips; the offsets on the RT-GENE gaze samples; the mean offsets
per hand-labelled video range; the error against hand-marked pupil centres.
Ground truth: tests/fixtures/gaze_labels.json.
Run: .venv/bin/python benchmarks/pupils.py
"""

import json
import os
import statistics
import sys
import time

import cv2
import dlib
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tracker_service import pupils  # noqa: E402
from tracker_service.landmarks import (LEFT_EYE, RIGHT_EYE, LandmarkTracker, model_path,  # noqa: E402
                                       shape_to_array)

DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")
LABELS = json.load(open(os.path.join(ROOT, "tests", "fixtures", "gaze_labels.json")))
CLIPS = sorted(k for k in LABELS if k.endswith(".mp4"))
EYES = {"right": RIGHT_EYE, "left": LEFT_EYE}


def track(clip):
    cap = cv2.VideoCapture(os.path.join(DATA, "video", clip))
    tracker, frames = LandmarkTracker(), []
    while True:
        ok, frame = cap.read()
        if not ok:
            return frames
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        frames.append((gray, tracker.track(gray)))


def timing(tracked):
    per_eye = []
    for frames in tracked.values():
        for gray, points in frames:
            if points is None:
                continue
            for sl in (RIGHT_EYE, LEFT_EYE):
                eye = points[sl]
                t0 = time.perf_counter()
                pupils.locate(gray, eye)
                per_eye.append(time.perf_counter() - t0)
    per_eye.sort()
    n = len(per_eye)
    return n, statistics.median(per_eye) * 1e3, per_eye[n // 10] * 1e3, per_eye[(9 * n) // 10] * 1e3


def face_points(gray, models, inside=None):
    detector, predictor = models
    for upsample in (0, 1, 2):
        rects = list(detector(gray, upsample))
        if inside is not None:
            lo, hi = inside
            rects = [r for r in rects if lo[0] < r.center().x < hi[0] and lo[1] < r.center().y < hi[1]]
        if rects:
            return shape_to_array(predictor(gray, max(rects, key=lambda r: r.area())))
    return None


def main():
    os.sched_setaffinity(0, {0})    # one core
    cv2.setNumThreads(1)
    models = dlib.get_frontal_face_detector(), dlib.shape_predictor(model_path())
    tracked = {clip: track(clip) for clip in CLIPS}

    n, median, p10, p90 = timing(tracked)
    print("## Time per eye (pupils.locate, one core)\n")
    print("| eyes timed | median ms | 10th percentile ms | 90th percentile ms | load average when run |")
    print("|---|---|---|---|---|")
    print("| %d (every frame of %s, both eyes) | %.3f | %.3f | %.3f | %s |\n" % (
        n, ", ".join(CLIPS), median, p10, p90, " ".join(open("/proc/loadavg").read().split()[:3])))

    print("## RT-GENE gaze samples (label = subject's own direction; + = subject's left / up)\n")
    print("| sample | right eye h, v, conf | left eye h, v, conf | mean of eyes h | mean of eyes v |")
    print("|---|---|---|---|---|")
    for name in ("center", "up", "down", "left", "right"):
        gray = cv2.imread(os.path.join(DATA, "gaze_blink", "samples_gaze", "gaze_%s.jpg" % name),
                          cv2.IMREAD_GRAYSCALE)
        points = face_points(gray, models)
        if points is None:
            print("| %s | no face | | | |" % name)
            continue
        o = pupils.gaze_offsets(gray, points)
        r, l = o["right"], o["left"]
        print("| %s | %+.2f, %+.2f, %.2f | %+.2f, %+.2f, %.2f | %+.2f | %+.2f |" % (
            name, r["horizontal"], r["vertical"], r["confidence"], l["horizontal"], l["vertical"],
            l["confidence"], (r["horizontal"] + l["horizontal"]) / 2, (r["vertical"] + l["vertical"]) / 2))

    print("\n## Labelled video ranges: mean offsets (h: + = subject's left; v: + = up)\n")
    print("| clip | frames | look | right eye h | left eye h | face h | face v | face conf | "
          "worst frame h (per eye, toward the other side) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for clip in CLIPS:
        offsets = [pupils.gaze_offsets(g, p) if p is not None else None for g, p in tracked[clip]]
        for r in LABELS[clip]:
            a, b = r["frames"]
            rng = [o for o in offsets[a:b + 1] if o is not None]
            rh = [o["right"]["horizontal"] for o in rng]
            lh = [o["left"]["horizontal"] for o in rng]
            worst = ""
            if r["look"] == "subject_left":
                worst = "%+.2f / %+.2f" % (min(rh), min(lh))
            elif r["look"] == "subject_right":
                worst = "%+.2f / %+.2f" % (max(rh), max(lh))
            print("| %s | %d-%d | %s | %+.2f | %+.2f | %+.2f | %+.2f | %.2f | %s |" % (
                clip, a, b, r["look"], np.mean(rh), np.mean(lh), np.mean([o["horizontal"] for o in rng]),
                np.mean([o["vertical"] for o in rng]), np.mean([o["confidence"] for o in rng]), worst))

    print("\n## Hand-marked pupil centres on landmarks68 stills\n")
    print("Error = distance to the hand mark / eye width (corner to corner); also / inter-ocular "
          "distance (between the eye centres), the unit of the BioID figures.\n")
    print("| image | eye | eye width px | error, annotated eye points | error, dlib eye points "
          "| error / inter-ocular, annotated |")
    print("|---|---|---|---|---|---|")
    errors = {"annotation": [], "dlib": []}
    per_iod = []
    for mark in LABELS["pupil_marks"]["eyes"]:
        path = os.path.join(DATA, "landmarks68", mark["image"])
        gray = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        truth = np.loadtxt(os.path.splitext(path)[0] + ".pts", skiprows=3, comments="}") - 1.0
        sl = EYES[mark["eye"]]
        width = np.linalg.norm(truth[sl][3] - truth[sl][0])
        iod = np.linalg.norm(truth[LEFT_EYE].mean(axis=0) - truth[RIGHT_EYE].mean(axis=0))
        row = []
        for source in ("annotation", "dlib"):
            if source == "annotation":
                eye = truth[sl]
            else:
                points = face_points(gray, models, inside=(truth.min(axis=0), truth.max(axis=0)))
                eye = None if points is None else points[sl]
            if eye is None:
                row.append(float("nan"))
                continue
            x, y, _ = pupils.locate(gray, eye)
            e = np.hypot(x - mark["xy"][0], y - mark["xy"][1])
            errors[source].append(e / width)
            row.append(e)
        per_iod.append(row[0] / iod)
        print("| %s | %s | %.1f | %.3f | %.3f | %.3f |" % (
            mark["image"], mark["eye"], width, row[0] / width, row[1] / width, row[0] / iod))
    print("\n| eye points | eyes | mean error / eye width | median | share under 0.10 | worst |")
    print("|---|---|---|---|---|---|")
    for source, e in errors.items():
        e = np.array(e)
        print("| %s | %d | %.3f | %.3f | %d%% | %.3f |" % (
            source, len(e), e.mean(), np.median(e), round(100 * np.mean(e < 0.10)), e.max()))
    per_iod = np.array(per_iod)
    print("\nAnnotated eye points, per inter-ocular distance: mean %.3f, %d%% of eyes within 0.05, "
          "worst %.3f." % (per_iod.mean(), round(100 * np.mean(per_iod <= 0.05)), per_iod.max()))


if __name__ == "__main__":
    main()
