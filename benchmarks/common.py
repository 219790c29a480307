"""Shared by the benchmark scripts: data paths, one-core setup, plain-dlib baseline."""

import os
import sys

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")

from tracker_service import threads  # noqa: E402
from tracker_service.landmarks import models, shape_to_array  # noqa: E402


def one_core():
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    threads.one_thread()


def run_process(cmd, cpus=None, cwd=None, env=None):
    """Run `cmd` to its end as a whole process: {"wall", "user", "system"} seconds (its own
    CPU time and its children's, from os.wait4). cpus: the cores it may run on (None: all)."""
    import subprocess
    import time
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus is not None else None
    start = time.monotonic()
    process = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, preexec_fn=pin)
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s" % (cmd[:3], process.returncode, stderr[-1000:]))
    return {"wall": wall, "user": usage.ru_utime, "system": usage.ru_stime}


def resized_frames(cap, size):
    """(index, frame) for each frame of the open cv2.VideoCapture `cap`, resized to `size`."""
    index = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            return
        yield index, cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
        index += 1


def first_core():
    return {sorted(os.sched_getaffinity(0))[0]}


def read_pts(path):
    """iBUG .pts file -> (68, 2) 0-based pixel coordinates."""
    with open(path) as f:
        lines = f.read().split("{")[1].split("}")[0].split()
    return np.array(lines, dtype=float).reshape(-1, 2) - 1.0


class PlainDlib:
    """The baseline: detector and predictor on every frame, no tracking, no filter."""

    def __init__(self):
        self.detector, self.predictor = models()   # the tracker's, loaded once a process

    def landmarks(self, gray):
        rects = self.detector(gray, 0)
        if len(rects) == 0:
            return None
        r = max(rects, key=lambda r: r.width() * r.height())
        return shape_to_array(self.predictor(gray, r))


def tracked(path, mirror=False, calibrate_at=None, **tracker_args):
    """(fps, results): the tracker's Result for every frame of a clip (mirrored if asked),
    frame i at time i / fps, by a FaceTracker made for the clip; FaceTracker.calibrate()
    (the user pressing Calibrate) just before frame `calibrate_at`."""
    from tracker_service.pipeline import FaceTracker
    cap = cv2.VideoCapture(path)
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    tracker = FaceTracker(int(cap.get(3)), int(cap.get(4)), fps, **tracker_args)

    def results():
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            if i == calibrate_at:
                tracker.calibrate()
            yield tracker.process(cv2.flip(frame, 1) if mirror else frame, i / fps)
            i += 1
    return fps, results()


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)
