"""The tracker's CPU time per frame against another revision's, interleaved frame by frame in one process.

On a machine shared with other work, two runs a minute apart differ by more than
most speed changes (the stage table of tracker_speed.py moved by 10% between
runs of the same code). Here both trackers see every frame of one decode, in
alternating order, so load, caches and clock swings fall on both alike. The
other revision's tracker_service and vstream_addon/shared are exported with
`git archive` into a scratch directory and imported under other names
(tracker_old, shared_old); the shape predictor's own time is taken out
(wrapped) so the table shows what the project's code costs around it.
Frames where either tracker ran its detector are left out (the detector's
runs come at the same frames in both when the outputs are the same).

Run: .venv/bin/python benchmarks/speed_against.py [REVISION] (default main)
"""

import argparse
import importlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tracker_service.huge_pages import restart_with_huge_pages  # noqa: E402

restart_with_huge_pages()   # both trackers measured as the tracker runs (tracker_service/huge_pages.py)

import cv2  # noqa: E402

from common import DATA, ROOT, one_core, resized_frames  # noqa: E402

from tracker_service.pipeline import FaceTracker  # noqa: E402


def export(revision, scratch):
    """`revision`'s tracker_service and vstream_addon/shared under scratch/, renamed
    tracker_old and shared_old (the absolute imports rewritten to match)."""
    archive = subprocess.run(["git", "archive", revision, "tracker_service", "vstream_addon/shared"],
                             cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", scratch], input=archive, check=True)
    os.rename(os.path.join(scratch, "tracker_service"), os.path.join(scratch, "tracker_old"))
    os.rename(os.path.join(scratch, "vstream_addon", "shared"), os.path.join(scratch, "shared_old"))
    for folder in ("tracker_old", "shared_old"):
        for name in os.listdir(os.path.join(scratch, folder)):
            if name.endswith(".py"):
                path = os.path.join(scratch, folder, name)
                with open(path) as f:
                    text = f.read()
                with open(path, "w") as f:
                    f.write(re.sub(r"\bvstream_addon\.shared\b", "shared_old", text))
    sys.path.insert(0, scratch)
    return importlib.import_module("tracker_old.pipeline").FaceTracker


class _Timed:
    """A tracker whose process() and shape predictor are timed (CPU time of this thread)."""

    def __init__(self, tracker):
        self.tracker = tracker
        self.predictor_time = 0.0
        self.frames = []     # (whole process() seconds, of which the predictor) per frame without a detector run
        predictor = tracker.landmarks.predictor

        def timed(*args):
            t0 = time.thread_time()
            try:
                return predictor(*args)
            finally:
                self.predictor_time += time.thread_time() - t0
        tracker.landmarks.predictor = timed

    def process(self, frame, t):
        lt = self.tracker.landmarks
        runs = lt.detections + lt.checks
        self.predictor_time = 0.0
        t0 = time.thread_time()
        self.tracker.process(frame, t)
        total = time.thread_time() - t0
        if lt.detections + lt.checks == runs:
            self.frames.append((total, self.predictor_time))


def compare(old_class, clip, size):
    cap = cv2.VideoCapture(os.path.join(DATA, "video", clip))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    trackers = {"other": _Timed(old_class(size[0], size[1], fps)), "this": _Timed(FaceTracker(size[0], size[1], fps))}
    count = 0
    for index, frame in resized_frames(cap, size):
        for name in (("other", "this") if index % 2 == 0 else ("this", "other")):
            trackers[name].process(frame, index / fps)
        count += 1
    return {name: timed.frames for name, timed in trackers.items()}, count


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("revision", nargs="?", default="main")
    parser.add_argument("--clip", default="webcam_cap12.mp4")
    parser.add_argument("--size", default="640x480")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    one_core()
    with tempfile.TemporaryDirectory() as scratch:
        frames, total = compare(export(args.revision, scratch), args.clip, size)
    n = min(len(f) for f in frames.values())
    print("%s at %dx%d, one core, CPU time of the tracking thread; medians over the frames without a detector "
          "run (%d and %d of %d), both trackers on every frame in alternating order:"
          % (args.clip, size[0], size[1], len(frames["other"]), len(frames["this"]), total))
    print()
    print("| tracker | ms a frame | shape predictor ms | everything else ms | everything else, mean ms "
          "| frame / predictor |")
    print("|---|---|---|---|---|---|")
    for name, label in (("other", args.revision), ("this", "this checkout")):
        whole = statistics.median(f[0] for f in frames[name]) * 1e3
        predictor = statistics.median(f[1] for f in frames[name]) * 1e3
        rest = statistics.median(f[0] - f[1] for f in frames[name]) * 1e3
        mean = statistics.mean(f[0] - f[1] for f in frames[name]) * 1e3
        print("| %s | %.3f | %.3f | %.3f | %.3f | %.2f |" % (label, whole, predictor, rest, mean, whole / predictor))
    if len(frames["other"]) == len(frames["this"]):
        saved = [(a[0] - a[1]) - (b[0] - b[1]) for a, b in zip(frames["other"], frames["this"])]
        print()
        print("Over the frames, (%s - this checkout), everything but the predictor: median %.3f ms, mean %.3f ms "
              "(%d frames)." % (args.revision, statistics.median(saved) * 1e3, statistics.mean(saved) * 1e3, n))


if __name__ == "__main__":
    main()
