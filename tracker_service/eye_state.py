"""Is each eye open or closed, from its pixels, its lids and this user's own open eye.

The lid points and the neutral-relative cues (eye_closure.py, blinks.closure) cannot
tell a shut eye from a narrowed open one on every face: on the blink test set the
cue stage overfired on laughing eyes behind glasses, and on new people it missed
long closures (a face that talks with its eyes shut learns the shut eye as its
neutral). What an open eye looks like can: a dark iris between lighter sclera or
lids, where a shut eye is a smooth lid with a lash line. So a logistic regression,
fitted by tools/fit_blinks.py on the hand-labelled frames of 51 people, reads
per eye:

- the eye's pixels: the corner-aligned crop of pupils.py, shrunk to PATCH_W x
  PATCH_H, described by its gradients' directions (HOG: the light and the skin
  tone cancel); the left eye is mirrored so both eyes share one model;
- its lid geometry: the eye aspect ratio, absolute and relative to the user's
  neutral;
- the user's open-eye level: the cue stage's closure (how far the aspect,
  contrast and iris column dropped from this user's neutral), and that closure
  as a share of the user's own blink depth (blinks.BlinkDepth).

Its logit is the eye's blink weight, LOGIT_OPEN -> 0 and LOGIT_CLOSED -> 1, so a
weight of 0.5 is the fitted boundary. The two eyes are then joined (a blink: both
read their mean logit) unless the more open eye is clearly open in its own terms (a
wink: each keeps its own; linked()).
"""

import os

import cv2
import numpy as np

from . import blinks

PATCH_W, PATCH_H = 24, 12       # half of pupils' 48x24 crop: the eye's corners 17 patch pixels apart
MODEL_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models", "blinks.npz")
# The logit read as eyeBlink 0 and 1: the weight ramps through the classifier's uncertain
# band, so an eye closing slowly reads part-closed, and an open eye reads exactly 0.
# Centred on the fitted boundary: moving it toward "closed" (-0.5, -1) found more of the
# shut eyes the classifier misses on new faces, but invented more closed frames on other
# new faces than it found (cross-validated over people, tools/fit_blinks.py --cv: 0.818 at
# 0, 0.806 at -0.5, 0.785 at -1).
LOGIT_OPEN, LOGIT_CLOSED = -2.0, 2.0


# Histograms of oriented gradients (Dalal and Triggs) of the patch: 9 orientations in
# 6x6-pixel cells, normalised over 12x12 blocks (3 blocks across, 108 numbers). The
# gradients' directions say "round iris edge" or "straight lid line" whatever the light
# and skin; on the validation part they separated open from shut far better than the
# normalised pixels themselves (pooled F1 0.93 against 0.74 with the same fit).
HOG = cv2.HOGDescriptor((PATCH_W, PATCH_H), (12, 12), (6, 6), (6, 6), 9)
N_HOG = HOG.getDescriptorSize()


def patches(crops):
    """[right, left]: each eye's pixels as a PATCH_H x PATCH_W uint8 image, from the eye's
    corner-aligned crop (pupils.gaze_offsets' "crop"; None for an eye too small to see)
    shrunk, the left eye mirrored so its nose side matches the right eye's."""
    out = []
    for k, crop in enumerate(crops):
        if crop is None:
            out.append(None)
            continue
        small = cv2.resize(crop, (PATCH_W, PATCH_H), interpolation=cv2.INTER_AREA)
        out.append(np.ascontiguousarray(small[:, ::-1]) if k == 1 else small)
    return out


def appearance(patch):
    """The pixel inputs of one eye: HOG of its patch (NaN for None)."""
    if patch is None:
        return np.full(N_HOG, np.nan, np.float32)
    return HOG.compute(patch).reshape(-1)


def geometry(aspect, aspect_neutral, closure, depth):
    """The non-pixel inputs of one eye, in the model's order: its aspect ratio, that
    over the user's neutral one, the cue stage's closure, and that closure as a share
    of the user's own blink depth (blinks.BlinkDepth: 0 at CLOSURE_START, 1 at the
    depth; bounded, so one misfit frame cannot dominate)."""
    relative = aspect / aspect_neutral if aspect_neutral > 1e-6 else 1.0
    share = (closure - blinks.CLOSURE_START) / (depth - blinks.CLOSURE_START)
    return [aspect, relative, closure, min(2.0, max(-1.0, share))]


N_GEOMETRY = 4


def inputs(patch, geo):
    """One eye's input row: appearance() of its patch, then geometry()."""
    return np.concatenate([appearance(patch), np.asarray(geo, np.float32)])


class EyeState:
    """The fitted classifier (tracker_service/models/blinks.npz): per eye, a logit of "closed"."""

    def __init__(self, path=MODEL_PATH):
        with np.load(path) as f:
            self.mean = f["mean"].astype(np.float32)
            self.scale = f["scale"].astype(np.float32)
            self.coef = f["coef"].astype(np.float32)
            self.bias = float(f["bias"])

    def logits(self, rows):
        """rows: (eyes, features) from inputs(); NaN pixels (eye too small) count as the mean."""
        x = (np.asarray(rows, np.float32) - self.mean) / self.scale
        x = np.where(np.isnan(x), 0.0, x)
        return x @ self.coef + self.bias


def weight(logit):
    """eyeBlink of one eye from its logit."""
    v = (logit - LOGIT_OPEN) / (LOGIT_CLOSED - LOGIT_OPEN)
    return float(v) if 0.0 < v < 1.0 else (1.0 if v >= 1.0 else 0.0)


# Joining the two eyes: a blink or a wink. People almost always blink with both eyes, but
# on a new face one eye's logit often stays below the boundary while the other's is well
# above it (one side of the face lit, the other shaded): read eye by eye, a wink the person
# never made. In a real wink the open eye stays open in its own terms: its logit far below
# the boundary, or its lids at their own open height. So the eyes are joined (both read
# their mean logit: the two eyes' evidence pooled) unless the more open eye's logit is
# below `near` and either below `far` or its lid aspect at least `open_aspect` of its own
# neutral aspect. expr_d3's first real wink: the open eye's logit -6.5 to -8 while its
# lids squint with the cheek (0.66-0.69 of neutral), -3.1 to -6.5 with its lids at
# 0.94-1.0; dfl_Twitch1's blinks read as winks: the weaker eye's logit -0.9 to -2.6 with
# its lids at 0.57-0.63. Chosen by cross-validation over the 51 tuning and validation
# people (tools/fit_blinks.py --cv --links, docs/BENCHMARKS.md) against the rule before
# (joined when the two weights differed by < 0.25): pooled F1 0.852 -> 0.855, labelled
# closed frames shown with one eye only 172 -> 39 (both 605 -> 710, neither 82 -> 110),
# labelled open frames with an eye shut 286 -> 204. `near` -3 scored a little better
# (0.857, 32, 200) but left expr_d3's first wink 0.1 logit from being joined away.
# (near, far, open_aspect):
LINK = (-2.5, -5.0, 0.9)
# Where the relative aspect sits in a row of inputs() (geometry()'s second number).
RELATIVE_ASPECT = N_HOG + 1


def linked(logits, relative_aspects, thresholds=LINK):
    """Whether the two eyes close together (a blink: they are joined) rather than one alone
    (a wink: each keeps its own): the more open eye is not clearly open (LINK)."""
    near, far, open_aspect = thresholds
    weaker = int(logits[1] < logits[0])
    logit, aspect = logits[weaker], relative_aspects[weaker]
    return bool(logit > near or (logit > far and aspect < open_aspect))


def weights(logits, relative_aspects, thresholds=LINK):
    """{"eyeBlinkRight", "eyeBlinkLeft"} from the logits of the (right, left) eye and each
    eye's aspect relative to its neutral: both take the weight of their mean logit when
    linked() says they close together, else each its own."""
    if linked(logits, relative_aspects, thresholds):
        both = weight((logits[0] + logits[1]) / 2.0)
        return {"eyeBlinkRight": both, "eyeBlinkLeft": both}
    return {"eyeBlinkRight": weight(logits[0]), "eyeBlinkLeft": weight(logits[1])}
