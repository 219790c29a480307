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
The F1 half hides a blink shown as a wink (one eye 1, the other 0: mean 0.5), so
vstream's eyes are also counted one by one (eye_counts(), an eye "shut" at
eyeBlink >= 0.5): on the labelled closed frames how many show both eyes shut, one
eye only (a wink the person never made) or neither; on the labelled open frames
how many show any eye shut (a false wink or blink: a fix that joins the eyes too
eagerly shows there).
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


SHUT = 0.5   # an eye whose eyeBlink reads this or more looks shut


def eye_counts(eyes, closed, ambiguous):
    """(both, one, neither, open_any): eyes (frames, 2) of per-eye eyeBlink; on the labelled
    closed frames how many show both eyes shut, one eye only and neither; on the labelled
    open frames how many show any eye shut. Ambiguous frames are left out."""
    n = len(eyes)
    shut = (np.asarray(eyes) >= SHUT).sum(axis=1)
    closed, opened = closed[:n] & ~ambiguous[:n], ~closed[:n] & ~ambiguous[:n]
    return (int((closed & (shut == 2)).sum()), int((closed & (shut == 1)).sum()),
            int((closed & (shut == 0)).sum()), int((opened & (shut > 0)).sum()))


def f1(tp, fp, fn):
    """Per-frame F1, or None where it is undefined: no closed frame labelled and none predicted."""
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None


def score(tp, fp, fn):
    """Table cell: F1 with its counts; '-' where the labels have no closed frame (F1 would be 0 or undefined)."""
    if tp + fn == 0:
        return "- (no closed frames; fp %d)" % fp
    return "%.2f (tp %d, fp %d, fn %d)" % (f1(tp, fp, fn), tp, fp, fn)


def eyes_score(both, one, neither, open_any):
    """Table cell of eye_counts()."""
    return "%d / %d / %d; %d" % (both, one, neither, open_any)


def predictions(clip, light=None, textbook=True, folder="video"):
    """Per frame "eyes closed" of vstream and (textbook=True) of the fixed threshold, and
    vstream's (eyeBlinkLeft, eyeBlinkRight) per frame (frames, 2).
    light: (first frame, gain): from that frame on every pixel is scaled by gain,
    as when a lamp goes off or the webcam's exposure changes mid-session."""
    cap = cv2.VideoCapture(os.path.join(DATA, folder, clip))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    tracker = FaceTracker(int(cap.get(3)), int(cap.get(4)), fps)
    plain = PlainDlib() if textbook else None
    ours, fixed, eyes = [], [], []
    i = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if light is not None and i >= light[0]:
            frame = cv2.convertScaleAbs(frame, alpha=light[1])
        r = tracker.process(frame, i / fps)
        eyes.append((r.weights["eyeBlinkLeft"], r.weights["eyeBlinkRight"]))
        ours.append(sum(eyes[-1]) / 2 > 0.5)
        if plain is not None:
            p = plain.landmarks(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
            fixed.append(p is not None and (ear(p[36:42]) + ear(p[42:48])) / 2 < 0.2)
        i += 1
    return np.array(ours), np.array(fixed), np.array(eyes, np.float64).reshape(-1, 2)


def evaluate(path=LABELS, part=None, textbook=True):
    """({clip: vstream F1}, table) for the clips of one label file, or (part) for every
    labelled clip of one part of the split; the pooled (tp, fp, fn) under "pooled", and
    vstream's eye_counts() per clip under "eyes" and pooled under "pooled eyes".
    textbook=False leaves the fixed threshold out (its column reads 0)."""
    clips = labelled_clips() if part else labelled_clips((path,))
    rows, scores = [], {"eyes": {}}
    total_closed, total_ours, total_text, total_eyes = 0, np.zeros(3, int), np.zeros(3, int), np.zeros(4, int)
    for clip, clip_part, folder, label in clips:
        if part and clip_part != part:
            continue
        closed, ambiguous = frame_masks(label)
        ours, fixed, eyes = predictions(clip, folder=folder, textbook=textbook)
        c_ours = counts(ours, closed, ambiguous)
        c_text = counts(fixed, closed, ambiguous) if textbook else (0, 0, 0)
        c_eyes = eye_counts(eyes, closed, ambiguous)
        total_closed += int(closed.sum())
        total_ours += c_ours
        total_text += c_text
        total_eyes += c_eyes
        scores[clip] = f1(*c_ours)
        scores["eyes"][clip] = c_eyes
        rows.append([clip, int(closed.sum()), score(*c_ours), eyes_score(*c_eyes), score(*c_text)])
    scores["pooled"] = tuple(int(v) for v in total_ours)
    scores["pooled eyes"] = tuple(int(v) for v in total_eyes)
    rows.append(["**all clips, pooled**", total_closed, score(*total_ours), eyes_score(*total_eyes),
                 score(*total_text)])
    return scores, table(["clip", "closed frames (labels)", "vstream F1",
                          "vstream eyes: closed frames both / one only / neither shut; open frames with an eye shut",
                          "plain dlib, EAR < 0.2, F1"], rows)


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
            ours, _, _ = predictions(clip, light=(first, gain), textbook=False)
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
