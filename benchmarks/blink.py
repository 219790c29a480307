"""Blink accuracy against per-frame human labels (tests/fixtures/blink_labels*.json).

Every labelled clip (one person each) is scored by its part of
tests/fixtures/blink_split.json, split by person: tuning and validation (the eye
classifier, eye_state.py, is fitted on both since issue 17's second session; its
recipe was chosen by cross-validation over them, tools/fit_blinks.py --cv) and
test (tests/fixtures/blink_labels_fresh2.json: 16 people labelled after all of
that, read once; blink_labels_fresh.json, the first fresh test part, was read once
and is validation data since). How the labels were made: tests/fixtures/README.md.

Per-frame F1 of "eyes closed" = mean(eyeBlinkLeft, eyeBlinkRight) > 0.5, ambiguous
frames excluded, for vstream and for the textbook fixed eye-aspect-ratio
threshold of 0.2 (Soukupova and Cech) on plain dlib landmarks. A clip with no
closed frame has no F1 (only false positives can happen there), so its row shows
"-" and the false-positive count; the last row pools tp/fp/fn over all clips.
Run: .venv/bin/python benchmarks/blink.py [--parts tuning,validation,test]
"""

import json
import os

import cv2
import numpy as np

from common import DATA, ROOT, PlainDlib, one_core, table
from reference import parts_from_args

from tracker_service.pipeline import FaceTracker

LABELS = os.path.join(ROOT, "tests", "fixtures", "blink_labels.json")
HELDOUT = os.path.join(ROOT, "tests", "fixtures", "blink_labels_heldout.json")
TEST = os.path.join(ROOT, "tests", "fixtures", "blink_labels_test.json")
PEOPLE = os.path.join(ROOT, "tests", "fixtures", "blink_labels_people.json")
FRESH = os.path.join(ROOT, "tests", "fixtures", "blink_labels_fresh.json")
FRESH2 = os.path.join(ROOT, "tests", "fixtures", "blink_labels_fresh2.json")
SPLIT = os.path.join(ROOT, "tests", "fixtures", "blink_split.json")
PARTS = ("tuning", "validation", "test")


def labelled_clips(paths=(LABELS, HELDOUT, TEST, PEOPLE, FRESH, FRESH2)):
    """[(clip, part, folder, label)] for every clip of the label files; the part (of
    blink_split.json, by person) says whether the blink stage may be fitted, chosen or only
    scored on it."""
    split = json.load(open(SPLIT))
    part_of = {(folder, clip): part for part in PARTS for folder, clips in split[part].items() for clip in clips}
    out = []
    for path in paths:
        for clip, label in json.load(open(path)).items():
            folder = label.get("folder", "people" if path == PEOPLE else "video")
            out.append((clip, part_of[(folder, clip)], folder, label))
    return out


def ear(eye):
    return (np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])) / (2 * np.linalg.norm(eye[0] - eye[3]))


def frame_masks(label):
    closed = np.zeros(label["frames"], bool)
    ambiguous = np.zeros(label["frames"], bool)
    for a, b in label["closed"]:
        closed[a:b + 1] = True
    for a, b in label["ambiguous"]:
        ambiguous[a:b + 1] = True
    return closed, ambiguous


def counts(pred, closed, ambiguous):
    """Per-frame true positives, false positives and false negatives, ambiguous frames left out."""
    keep = ~ambiguous[:len(pred)]
    closed = closed[:len(pred)]
    return (int((pred & closed & keep).sum()), int((pred & ~closed & keep).sum()),
            int((~pred & closed & keep).sum()))


def f1(tp, fp, fn):
    """Per-frame F1, or None where it is undefined: no closed frame labelled and none predicted."""
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None


def score(tp, fp, fn):
    """Table cell: F1 with its counts; '-' where the labels have no closed frame (F1 would be 0 or undefined)."""
    if tp + fn == 0:
        return "- (no closed frames; fp %d)" % fp
    return "%.2f (tp %d, fp %d, fn %d)" % (f1(tp, fp, fn), tp, fp, fn)


def predictions(clip, light=None, textbook=True, folder="video"):
    """Per frame "eyes closed" of vstream and (textbook=True) of the fixed threshold.
    light: (first frame, gain): from that frame on every pixel is scaled by gain,
    as when a lamp goes off or the webcam's exposure changes mid-session."""
    cap = cv2.VideoCapture(os.path.join(DATA, folder, clip))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    tracker = FaceTracker(int(cap.get(3)), int(cap.get(4)), fps)
    plain = PlainDlib() if textbook else None
    ours, fixed = [], []
    i = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if light is not None and i >= light[0]:
            frame = cv2.convertScaleAbs(frame, alpha=light[1])
        r = tracker.process(frame, i / fps)
        ours.append((r.weights["eyeBlinkLeft"] + r.weights["eyeBlinkRight"]) / 2 > 0.5)
        if plain is not None:
            p = plain.landmarks(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
            fixed.append(p is not None and (ear(p[36:42]) + ear(p[42:48])) / 2 < 0.2)
        i += 1
    return np.array(ours), np.array(fixed)


def evaluate(path=LABELS, part=None, textbook=True):
    """({clip: vstream F1}, table) for the clips of one label file, or (part) for every
    labelled clip of one part of the split; the pooled (tp, fp, fn) under "pooled".
    textbook=False leaves the fixed threshold out (its column reads 0)."""
    clips = labelled_clips() if part else labelled_clips((path,))
    rows, scores = [], {}
    total_closed, total_ours, total_text = 0, np.zeros(3, int), np.zeros(3, int)
    for clip, clip_part, folder, label in clips:
        if part and clip_part != part:
            continue
        closed, ambiguous = frame_masks(label)
        ours, fixed = predictions(clip, folder=folder, textbook=textbook)
        c_ours = counts(ours, closed, ambiguous)
        c_text = counts(fixed, closed, ambiguous) if textbook else (0, 0, 0)
        total_closed += int(closed.sum())
        total_ours += c_ours
        total_text += c_text
        scores[clip] = f1(*c_ours)
        rows.append([clip, int(closed.sum()), score(*c_ours), score(*c_text)])
    scores["pooled"] = tuple(int(v) for v in total_ours)
    rows.append(["**all clips, pooled**", total_closed, score(*total_ours), score(*total_text)])
    return scores, table(["clip", "closed frames (labels)", "vstream F1", "plain dlib, EAR < 0.2, F1"], rows)


LIGHT_CHANGE_SECONDS = 5.0   # the light changes this far into the clip, before any labelled blink
LIGHT_GAINS = (0.6, 1.4)


def light_change(clips=("webcam_cap12.mp4", "expr_d10.mp4")):
    """{(clip, gain): (tp, fp, fn)} and a table: vstream's blinks when the light changes
    mid-clip (the neutral was learnt in the old light)."""
    labels = json.load(open(LABELS))
    rows, scores = [], {}
    for clip in clips:
        closed, ambiguous = frame_masks(labels[clip])
        first = int(round(LIGHT_CHANGE_SECONDS * labels[clip]["fps"]))
        for gain in LIGHT_GAINS:
            ours, _ = predictions(clip, light=(first, gain), textbook=False)
            found = counts(ours, closed, ambiguous)
            scores[(clip, gain)] = found
            rows.append([clip, "x%.1f from frame %d" % (gain, first), score(*found)])
    return scores, table(["clip", "brightness", "vstream F1"], rows)


def main():
    one_core()
    for part in parts_from_args():
        print("Every labelled clip of the %s part (blink_split.json, by person)" % part)
        print()
        print(evaluate(part=part)[1])
        print()
    print("The light changes %.0f s into the clip: every pixel from then on scaled (blink_labels.json)" % LIGHT_CHANGE_SECONDS)
    print()
    print(light_change()[1])


if __name__ == "__main__":
    main()
