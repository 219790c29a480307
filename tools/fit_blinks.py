"""Fit the open/closed eye classifier (tracker_service/models/blinks.npz) on hand-labelled frames.

    .venv/bin/python tools/fit_blinks.py [--cv] [--degraded] [--links] [--dry-run] [--test] [--l2 X] [--min-eye-px X]

For every clip with human blink labels (tests/fixtures/blink_labels*.json), the
real tracker runs frame by frame and the blink stage's inputs are recorded
(eye_state.inputs: HOG of each eye's patch, its aspect ratio absolute and
relative to the user's neutral, the cue stage's closure and that closure's share
of the user's blink depth), with each eye's width in pixels (corner to corner);
cached under .cache/blink_inputs by clip name: delete it after changing what
eye_state reads. The part of each clip (tuning / validation / test) is read from
tests/fixtures/blink_split.json, which splits by person. Recording the 51
tuning and validation clips (11375 frames) takes a few minutes on a quiet core;
the fit itself about a second.

The model is an L2-regularised logistic regression, fitted by Newton's method on
the frames of every tuning and validation clip (51 people): both eyes of every
frame labelled closed or open (ambiguous frames and frames without a face are
left out; a frame's label is for both eyes together), except eyes narrower than
MIN_EYE_PX, whose patch does not show the eye (the 160x160 LRS2 crops).
Every clip is fitted twice: as it is, and as a poor webcam would show it
(degrade(): the frame shrunk to 200 rows, so most eyes are 10-20 px wide, its
exposure drifting between x0.6 and x1.4, noisy, JPEG-coded; recorded and cached
the same way).
The recipe (the regularisation, that width, the degraded copies, the decision at
logit 0) was chosen with --cv: six folds of whole clips (one person each), each
fold scored by a model fitted on the other five, pooled with benchmarks/blink.py's
rule (mean eyeBlink > 0.5) and eye by eye (its eye_counts(): labelled closed
frames shown with both eyes shut, one eye only or neither; labelled open frames
with an eye shut); with --degraded the folds also score their clips' degraded
copies. --links scores, with the same held-out logits, every way of joining the
two eyes of LINK_* (eye_state.LINK was chosen so). Without --cv it prints per-clip
F1 on the fitted clips (in-sample); --test adds the test part (read it once, at
the end: choose nothing with it). --dry-run writes no model.
"""

import argparse
import os
import sys

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import blink  # noqa: E402
from common import DATA  # noqa: E402
from tracker_service import eye_state  # noqa: E402
from tracker_service.pipeline import FaceTracker  # noqa: E402

CACHE = os.path.join(ROOT, ".cache", "blink_inputs")
# Chosen by --cv (see docs/BENCHMARKS.md, blinks): over 51 people L2 10 scored 0.852 clean and 0.818 degraded
# (L2 3: 0.854 / 0.814, L2 30: 0.847 / 0.819, L2 100: 0.828 / -), so the fit follows the larger, more varied set.
FIT = {"l2": 10.0, "positive_weight": 1.0}
# Eyes narrower than this (corner to corner, image pixels) are left out of the fit: on the
# 160x160 LRS2 crops (eyes 12-16 px) the patch often shows the eye's edge or the cheek, and
# fitting on those rows as "open" cost 0.01-0.05 of cross-validated F1 (--cv).
MIN_EYE_PX = 14.0
FIT_PARTS = ("tuning", "validation")
CV_FOLDS, CV_SEED = 6, 1


def frame_labels(label):
    """Per frame 1 closed, 0 open, -1 left out (ambiguous)."""
    closed, ambiguous = blink.frame_masks(label)
    return np.where(ambiguous, -1, closed.astype(int))


# A webcam at its worst, fitted on beside the clean frames: the frame shrunk to DEGRADED_HEIGHT rows
# (the eyes of most clips then 10-20 px wide, as on a laptop webcam), its exposure drifting
# between DEGRADED_GAINS over DEGRADED_PERIOD seconds (a dim room, then auto-exposure
# overshooting into clipped highlights), noisy and JPEG-coded.
DEGRADED_HEIGHT, DEGRADED_NOISE, DEGRADED_JPEG = 200, 4.0, 50
DEGRADED_GAINS, DEGRADED_PERIOD = (0.6, 1.4), 8.0


def degrade(frame, t, rng):
    """One frame, t seconds into the clip, as a poor webcam would give it (DEGRADED_*)."""
    h, w = frame.shape[:2]
    if h > DEGRADED_HEIGHT:
        frame = cv2.resize(frame, (int(round(w * DEGRADED_HEIGHT / h)), DEGRADED_HEIGHT), interpolation=cv2.INTER_AREA)
    low, high = DEGRADED_GAINS
    gain = low + (high - low) * 0.5 * (1.0 - np.cos(2.0 * np.pi * t / DEGRADED_PERIOD))
    noisy = frame.astype(np.float32) * gain + rng.normal(0.0, DEGRADED_NOISE, frame.shape)
    ok, jpeg = cv2.imencode(".jpg", np.clip(noisy, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, DEGRADED_JPEG])
    return cv2.imdecode(jpeg, cv2.IMREAD_COLOR)


def recorded(folder, clip, degraded=False):
    """((frames, 2, features) eye_state inputs, (frames, 2) eye widths in pixels) of every
    frame (NaN without a face), cached; degraded: of the clip as degrade() makes it."""
    path = os.path.join(CACHE, clip + (".degraded" if degraded else "") + ".npz")
    if os.path.exists(path):
        with np.load(path) as f:
            return f["inputs"], f["widths"]
    cap = cv2.VideoCapture(os.path.join(DATA, folder, clip))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    width, height = int(cap.get(3)), int(cap.get(4))
    if degraded and height > DEGRADED_HEIGHT:
        width, height = int(round(width * DEGRADED_HEIGHT / height)), DEGRADED_HEIGHT
    tracker = FaceTracker(width, height, fps)
    tracker.eye_state = None   # record the inputs whatever the model file holds
    n = eye_state.N_HOG + eye_state.N_GEOMETRY
    rng = np.random.default_rng(0)
    rows, widths, i = [], [], 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        r = tracker.process(degrade(frame, i / fps, rng) if degraded else frame, i / fps)
        rows.append(tracker.eye_inputs if r.face else np.full((2, n), np.nan))
        p = r.smoothed
        widths.append([np.linalg.norm(p[39] - p[36]), np.linalg.norm(p[45] - p[42])] if r.face else [np.nan] * 2)
        i += 1
    inputs, widths = np.array(rows, np.float32), np.array(widths, np.float32)
    os.makedirs(CACHE, exist_ok=True)
    np.savez(path, inputs=inputs, widths=widths)
    return inputs, widths


def fit(x, y, l2, positive_weight, iterations=30):
    """Logistic regression by Newton's method: (mean, scale, coef, bias) on standardised x."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    sample = np.where(y == 1, positive_weight, 1.0)
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0   # the bias is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        grad = z.T @ (sample * (p - y)) + penalty * w
        hess = (z * (sample * p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return mean, scale, w[:-1], w[-1]


def training_rows(data, min_eye_px):
    """(x, y) of both eyes of every labelled frame with a face, eyes narrower than min_eye_px left out."""
    xs, ys = [], []
    for inputs, widths, y in data:
        for eye in (0, 1):
            keep = (y >= 0) & ~np.isnan(inputs[:, 0, -1]) & ~np.isnan(inputs[:, 1, -1]) & (widths[:, eye] >= min_eye_px)
            rows = inputs[keep, eye]
            xs.append(np.where(np.isnan(rows), 0.0, rows))   # an eye too small to see: a blank patch
            ys.append(y[keep].astype(np.float64))
    return np.vstack(xs).astype(np.float64), np.concatenate(ys)


def logits(model, inputs):
    """(frames, 2) each eye's logit of "closed" by `model` (fit()'s), as the tracker computes it."""
    state = eye_state.EyeState.__new__(eye_state.EyeState)
    state.mean, state.scale, state.coef, state.bias = (np.float32(model[0]), np.float32(model[1]),
                                                       np.float32(model[2]), float(model[3]))
    return np.array([state.logits(rows) for rows in inputs]).reshape(-1, 2)


def eye_weights(eye_logits, inputs, thresholds=eye_state.LINK):
    """(frames, 2) eyeBlink of the (right, left) eye as the tracker reads them (eye_state.weights,
    the eyes joined by `thresholds`); 0 on frames without a face."""
    out = np.zeros(eye_logits.shape)
    for i, rows in enumerate(inputs):
        if not np.isnan(rows[0, -1]):
            w = eye_state.weights(eye_logits[i], rows[:, eye_state.RELATIVE_ASPECT], thresholds)
            out[i] = w["eyeBlinkRight"], w["eyeBlinkLeft"]
    return out


def counts(eyes, y):
    """(tp, fp, fn) of benchmarks/blink.py's rule (mean eyeBlink > 0.5), then its eye_counts()
    (closed frames: both / one only / neither eye shut; open frames with an eye shut)."""
    closed, ambiguous = y == 1, y < 0
    return np.array(blink.counts(eyes.mean(axis=1) > 0.5, closed, ambiguous) + blink.eye_counts(eyes, closed, ambiguous))


def line(name, c):
    """One clip's (or the pool's) counts() as a line."""
    return "  %-45s F1 %s  tp %d fp %d fn %d   closed: both %d one %d neither %d   open: an eye %d" % (
        name, "%.3f" % blink.f1(*c[:3]) if c[0] + c[2] else "  -  ", *c)


def report(model, clips, parts):
    for part in parts:
        total = np.zeros(7, int)
        print("\n%s" % part)
        for clip, p, inputs, _, y in clips:
            if p != part:
                continue
            c = counts(eye_weights(logits(model, inputs), inputs), y)
            total += c
            print(line(clip, c))
        print(line("pooled", total))


def fitted(clips, degraded, args):
    """The model fitted on `clips` [(clip, part, inputs, widths, y)] and their degraded copies
    (degraded: {clip: (inputs, widths)})."""
    data = [(x, w, y) for _, _, x, w, y in clips] + [(*degraded[c], y) for c, _, _, _, y in clips]
    return fit(*training_rows(data, args.min_eye_px), args.l2, args.positive_weight)


def held_out_logits(clips, degraded, args):
    """{clip: (clean, degraded) (frames, 2) logits}, each clip's from a model fitted without its
    fold: CV_FOLDS folds of whole clips (fitted())."""
    order = np.random.default_rng(CV_SEED).permutation(len(clips))
    out = {}
    for k in range(CV_FOLDS):
        held = {int(i) for i in order[k::CV_FOLDS]}
        model = fitted([c for i, c in enumerate(clips) if i not in held], degraded, args)
        for i in sorted(held):
            clip, _, inputs = clips[i][:3]
            out[clip] = logits(model, inputs), logits(model, degraded[clip][0])
    return out


def cross_validate(clips, degraded, args, show_degraded):
    """Per clip and pooled counts() of the clips, each scored by a model fitted without its
    fold (held_out_logits()); show_degraded: also score each clip's degraded copy."""
    held = held_out_logits(clips, degraded, args)
    totals = {"clean": np.zeros(7, int), "degraded": np.zeros(7, int)}
    for clip, _, inputs, _, y in clips:
        c = counts(eye_weights(held[clip][0], inputs), y)
        totals["clean"] += c
        print(line(clip, c))
        if show_degraded:
            totals["degraded"] += counts(eye_weights(held[clip][1], degraded[clip][0]), y)
    for name, total in totals.items():
        if name == "clean" or show_degraded:
            print(line("pooled, %s (cross-validated)" % name, total))
    return held


# The joinings of the two eyes --links scores (eye_state.LINK: the more open eye's logit above
# which the eyes are joined; above which they are joined when its lids are below the aspect).
LINK_NEAR = (-1.0, -2.0, -2.5, -3.0, -4.0, -5.0)
LINK_FAR = (-4.0, -5.0, -6.0)
LINK_ASPECTS = (0.7, 0.8, 0.9)


def link_grid(clips, held):
    """Pooled counts() of the cross-validated logits `held` for every joining of LINK_*."""
    grid = [(near, near, 0.0) for near in LINK_NEAR] + [
        (near, far, aspect) for near in LINK_NEAR for far in LINK_FAR if far < near for aspect in LINK_ASPECTS]
    named = [("never joined", (np.inf, np.inf, 0.0)), ("always joined", (-np.inf, -np.inf, 0.0))] + [
        ("joined above %g, or %g below %g of neutral" % t, t) for t in grid]
    for name, thresholds in named:
        total = sum(counts(eye_weights(held[clip][0], inputs, thresholds), y) for clip, _, inputs, _, y in clips)
        print(line(name, total))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--l2", type=float, default=FIT["l2"])
    ap.add_argument("--positive-weight", type=float, default=FIT["positive_weight"])
    ap.add_argument("--min-eye-px", type=float, default=MIN_EYE_PX)
    ap.add_argument("--cv", action="store_true", help="score the recipe by %d-fold cross-validation over clips" % CV_FOLDS)
    ap.add_argument("--degraded", action="store_true", help="with --cv, also score the clips' degraded copies")
    ap.add_argument("--links", action="store_true",
                    help="with the cross-validated logits, score every joining of the two eyes (LINK_*)")
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--test", action="store_true", help="also score the test part (once, at the end)")
    args = ap.parse_args()
    clips = []
    for clip, part, folder, label in blink.labelled_clips():
        if part in FIT_PARTS or args.test:
            clips.append((clip, part, *recorded(folder, clip), frame_labels(label)))
    fitting = [c for c in clips if c[1] in FIT_PARTS]
    degraded = {clip: recorded(folder, clip, degraded=True)
                for clip, part, folder, _ in blink.labelled_clips() if part in FIT_PARTS}
    if args.cv or args.links:
        held = cross_validate(fitting, degraded, args, args.degraded)
        if args.links:
            print("\nhow the two eyes are joined (eye_state.LINK), the same held-out logits; chosen: %s" % (eye_state.LINK,))
            link_grid(fitting, held)
        return
    model = fitted(fitting, degraded, args)
    report(model, clips, FIT_PARTS + (("test",) if args.test else ()))
    if not args.dry_run:
        mean, scale, coef, bias = model
        np.savez(eye_state.MODEL_PATH, mean=mean.astype(np.float32), scale=scale.astype(np.float32),
                 coef=coef.astype(np.float32), bias=np.float32(bias))
        print("wrote", eye_state.MODEL_PATH)


if __name__ == "__main__":
    main()
