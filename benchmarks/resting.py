"""Resting faces: how many people's resting frames the avatar shows an expression on.

A frame is a resting frame when the reference (MediaPipe FaceLandmarker,
benchmarks/reference.py; needs .venv-ref) reads every non-eye channel below
REFERENCE_AT_REST, or when it is labelled relaxed in tests/fixtures/neutral_frames.json
(judged by eye; some faces' resting brows read high on the reference too), and
it is at least WEIGHT_PRIOR_SECONDS into its clip (until then the tracker has
seen nothing of the user's resting face). The whole tracker (its automatic
neutral: nobody calibrates) runs on every clip of video/, pool/ and people/;
a person "reads an expression at rest" when more than SHARE of their resting
frames read above RELAXED_MAX on a non-eye channel (eyeSquint and eyeWide
narrow and widen the eyes, eyeLook is gaze, eyeBlink the blink stage). People
as tools/fit_expressions.person tells them apart; parts from
tests/fixtures/expression_split.json.

Calibrate: where a clip has a calibration's worth of consecutive resting frames
(calibration.CAPTURE_SECONDS) after its first second, the clip is tracked again
with FaceTracker.calibrate() pressed at the first of them, and its resting frames
after the capture are counted both ways (automatic and calibrated).

Run: .venv/bin/python benchmarks/resting.py [--parts tuning,validation,test]
"""

import json
import os
import sys

import numpy as np

from common import DATA, ROOT, one_core, table

import agreement
import reference
from expressions import run_clip

from tracker_service import calibration
from vstream_addon.shared.arkit import ARKIT_NAMES

sys.path.insert(0, os.path.join(ROOT, "tools"))
from fit_expressions import person  # noqa: E402

REFERENCE_AT_REST = 0.2
RELAXED_MAX = 0.3     # tests/tracker/test_expressions.py: a relaxed face reads no more on any expression
SHARE = 0.1
NON_EYE = np.array([ARKIT_NAMES.index(n) for n in agreement.CHANNELS if not n.startswith("eye")])
FOLDERS = ("video", "pool", "people")


def clips(parts):
    """[(part, folder, clip name)] of the expression split's parts."""
    with open(reference.SPLIT_FILE) as f:
        spec = json.load(f)
    return [(part, folder, name) for part in parts for folder in FOLDERS for name in spec[part].get(folder, [])]


def labelled_relaxed():
    """{clip name: [(first, last), ...]} from tests/fixtures/neutral_frames.json."""
    with open(os.path.join(ROOT, "tests", "fixtures", "neutral_frames.json")) as f:
        labels = json.load(f)
    return {clip: label["relaxed"] for clip, label in labels.items() if clip != "about"}


def resting_frames(ours, ref, fps, relaxed=()):
    """Boolean mask of a clip's resting frames (ours and ref: (frames, 52), NaN where no face)."""
    n = min(len(ours), len(ref))
    with np.errstate(invalid="ignore"):
        rest = np.all(ref[:n][:, NON_EYE] < REFERENCE_AT_REST, axis=1)
    for a, b in relaxed:
        rest[a:b + 1] = True
    rest &= ~np.isnan(ours[:n]).any(axis=1)
    rest[:int(np.ceil(calibration.WEIGHT_PRIOR_SECONDS * fps))] = False
    return rest


def calibration_frame(rest, fps):
    """The first frame from which a calibration's capture sees only resting frames, or None."""
    n = max(calibration.MIN_SAMPLES, int(calibration.CAPTURE_SECONDS * fps))
    runs = np.convolve(rest.astype(int), np.ones(n, int), "valid") == n
    start = int(np.ceil(calibration.WEIGHT_PRIOR_SECONDS * fps))
    found = np.flatnonzero(runs[start:])
    return None if len(found) == 0 else start + int(found[0])


def over_count(weights, rest):
    return int((weights[:len(rest)][rest][:, NON_EYE] > RELAXED_MAX).any(axis=1).sum())


def main():
    parts = reference.parts_from_args()
    one_core()
    relaxed = labelled_relaxed()
    people = {}   # (part, person) -> [resting frames, frames over, channel counts]
    calibrations = {}   # part -> [clips, resting frames after it, over: automatic, calibrated, clips over SHARE: same]
    for part, folder, name in clips(parts):
        path = os.path.join(DATA, folder, name)
        ours, fps = run_clip(path)
        ref, _ = reference.weights(path)
        rest = resting_frames(ours, ref, fps, relaxed.get(name, ()))
        over = ours[:len(rest)][rest][:, NON_EYE] > RELAXED_MAX
        entry = people.setdefault((part, person(name)), [0, 0, np.zeros(len(NON_EYE), int)])
        entry[0] += int(rest.sum())
        entry[1] += int(over.any(axis=1).sum())
        entry[2] += over.sum(axis=0)
        at = calibration_frame(rest, fps)
        if at is not None:
            after = rest.copy()
            after[:at + max(calibration.MIN_SAMPLES, int(calibration.CAPTURE_SECONDS * fps))] = False
            calibrated, _ = run_clip(path, calibrate_at=at)
            cal = calibrations.setdefault(part, [0, 0, 0, 0, 0, 0])
            c_auto, c_cal = over_count(ours, after), over_count(calibrated, after)
            cal[0] += 1
            cal[1] += int(after.sum())
            cal[2] += c_auto
            cal[3] += c_cal
            cal[4] += c_auto > SHARE * after.sum()
            cal[5] += c_cal > SHARE * after.sum()
    rows = []
    for part in parts:
        mine = {who: v for (p_, who), v in people.items() if p_ == part}
        counted = {who: v for who, v in mine.items() if v[0] > 0}
        reading = sorted(who for who, v in counted.items() if v[1] > SHARE * v[0])
        frames = sum(v[0] for v in counted.values())
        over = sum(v[1] for v in counted.values())
        rows.append([part, len(mine), len(counted), frames, "%d (%.1f%%)" % (over, 100.0 * over / max(frames, 1)),
                     len(reading)])
        for who in reading:
            v = counted[who]
            top = np.argsort(-v[2])[:2]
            print("- %s, %s: %d of %d resting frames over %.1f (most: %s)" % (
                part, who, v[1], v[0], RELAXED_MAX,
                ", ".join("%s %d" % (ARKIT_NAMES[NON_EYE[k]], v[2][k]) for k in top if v[2][k])))
    print()
    print(table(["part", "people", "people with resting frames", "resting frames",
                 "resting frames over %.1f on a non-eye channel" % RELAXED_MAX,
                 "people over %.1f on more than %d%% of them" % (RELAXED_MAX, 100 * SHARE)], rows))
    print()
    print("Calibrate pressed at the first resting half second after the first second (clips that have one); "
          "resting frames after the capture:\n")
    print(table(["part", "clips", "resting frames after", "over %.1f: automatic" % RELAXED_MAX,
                 "over %.1f: calibrated" % RELAXED_MAX, "clips over on more than %d%%: automatic / calibrated"
                 % (100 * SHARE)],
                [[part] + c[:4] + ["%d / %d" % (c[4], c[5])] for part, c in calibrations.items()]))


if __name__ == "__main__":
    main()
