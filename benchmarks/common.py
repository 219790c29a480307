"""Shared by the benchmark scripts: data paths, one-core setup, plain-dlib baseline."""

import os
import sys

import cv2
import dlib
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")

from tracker_service.landmarks import model_path, shape_to_array  # noqa: E402


def one_core():
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    cv2.setNumThreads(1)


def read_pts(path):
    """iBUG .pts file -> (68, 2) 0-based pixel coordinates."""
    with open(path) as f:
        lines = f.read().split("{")[1].split("}")[0].split()
    return np.array(lines, dtype=float).reshape(-1, 2) - 1.0


class PlainDlib:
    """The baseline: detector and predictor on every frame, no tracking, no filter."""

    def __init__(self):
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(model_path())

    def landmarks(self, gray):
        rects = self.detector(gray, 0)
        if len(rects) == 0:
            return None
        r = max(rects, key=lambda r: r.width() * r.height())
        return shape_to_array(self.predictor(gray, r))


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)
