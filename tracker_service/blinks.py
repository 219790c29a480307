"""eyeBlink from how closed each eye looks: the blink stage.

Each eye's closure is the mean relative drop of its cues (eye_closure.py: lid
aspect, pixel contrast, iris column) from the user's neutral (cue_neutral: the
median of the last 20 s; how an eye looks depends on the camera, the light and
the face, so there is no population prior).
A closure of CLOSURE_START reads 0 and the user's own blink depth (BlinkDepth)
reads 1; both eyes take their mean unless it is clearly a wink.

The tracker's eyeBlink comes from eye_state.py, which reads these closures (and
their share of the blink depth) beside the eye's pixels; weights() here is the
cue stage alone, used while tools/fit_blinks.py records the classifier's inputs.
"""

import numpy as np

from .calibration import HISTORY_SECONDS, NeutralEstimator

# Eye closure (eye_closure.py): the mean relative drop of the eye's aspect, contrast
# and iris column from the user's neutral. Looking down or squinting drops them by
# up to about a quarter, a blink by 40% or more.
CLOSURE_START = 0.15     # a smaller drop is no blink at all
CLOSURE_FULL = 0.4       # a drop this large is a closed eye, at the least (BlinkDepth)
# Eyes closing this differently are a wink, not a blink to link (the cue stage's weights()
# only: the tracker joins the classifier's eyes by their logits, eye_state.linked). In expr_d3's first wink
# the open eye squints with the cheek and reads 0.3-0.7 beside the shut eye's 0.9-1.0:
# at 0.5 six of its 13 frames were linked and shut both eyes. A blink's two eyes read
# within 0.25 of each other on all but its first and last frame (eye_state).
WINK_DIFFERENCE = 0.25
CLOSURE_CUES = ("eye_aspect_", "eye_contrast_", "iris_column_")
# The cue vector eye_closures() reads, in the order the pipeline fills it; NaN when not seen.
CUES = tuple(cue + side for cue in CLOSURE_CUES for side in ("r", "l"))
INDEX = {name: i for i, name in enumerate(CUES)}


def cue_neutral(fps):
    """The running neutral of the CUES vector."""
    return NeutralEstimator(fps, np.full(len(CUES), 50.0), np.full(len(CUES), np.nan), np.zeros(len(CUES)))


def _clip(v):
    return float(v) if 0.0 < v < 1.0 else (1.0 if v >= 1.0 else 0.0)


def closure(f, n, side):
    """How far one eye has closed: the mean relative drop of its cues from neutral
    (0 = as at rest). A cue that cannot be seen (NaN: eye too small) is left out."""
    drops = []
    for cue in CLOSURE_CUES:
        k = INDEX[cue + side]
        if f[k] == f[k] and n[k] == n[k] and n[k] > 1e-6:   # both not NaN
            drops.append(1.0 - f[k] / n[k])
    return sum(drops) / len(drops) if drops else 0.0


def eye_closures(f, n):
    """{"r": closure, "l": closure} of both eyes, for cues `f` (CUES order) and their neutral `n`."""
    f, n = np.asarray(f, dtype=np.float64).tolist(), np.asarray(n, dtype=np.float64).tolist()
    return {side: closure(f, n, side) for side in ("r", "l")}


def weights(closures, closed=CLOSURE_FULL):
    """{"eyeBlinkLeft": 0..1, "eyeBlinkRight": 0..1} from eye_closures(). closed: the
    closure that reads as a shut eye, eyeBlink 1: this user's, from BlinkDepth."""
    w = {"eyeBlink" + Side: _clip((closures[side] - CLOSURE_START) / (closed - CLOSURE_START))
         for side, Side in (("r", "Right"), ("l", "Left"))}
    link_eyes(w)
    return w


def link_eyes(w):
    """Both eyes take their mean unless it is clearly a wink: each eye's measurement is
    noisy, and people almost always blink with both."""
    left, right = w["eyeBlinkLeft"], w["eyeBlinkRight"]
    if abs(left - right) < WINK_DIFFERENCE:
        w["eyeBlinkLeft"] = w["eyeBlinkRight"] = (left + right) / 2.0


# The shortest time a blink keeps the eyes shut (about 0.1 s; a full blink lasts 0.1-0.4 s).
BLINK_SECONDS = 0.1
# Above every shut eye's closure seen on the labelled clips (medians 0.41-0.52 per clip):
# a hand or hair over the eyes for a moment must not mute the next 20 s of blinks.
BLINK_DEPTH_MAX = 0.6


class BlinkDepth:
    """How far this user's eyes close in a blink: the eye closure (closure(),
    the mean relative drop of the eye cues from neutral) that reads as eyeBlink 1.

    How much the cues drop when the eyes shut depends on the face and the camera:
    on the hand-labelled clips the median closure of a shut eye ranged from 0.41
    to 0.52, so a fixed full-blink value read half-open eyes as shut on the faces
    that close deepest (eyes reopening after a blink). The depth is the closure
    the eyes held for BLINK_SECONDS in the deepest blink of the last
    HISTORY_SECONDS (a misfit lasting a frame or two does not count). It never goes
    below `floor` (CLOSURE_FULL): a user who has not blinked yet, or
    whose blinks close the cues less, keeps it; nor above BLINK_DEPTH_MAX.
    """

    def __init__(self, fps, floor):
        self.floor = floor
        self.rank = max(2, int(round(BLINK_SECONDS * fps)))
        self.history = np.zeros(max(self.rank, int(HISTORY_SECONDS * fps)))
        self.count = 0
        self.next = 0

    def reset(self):
        self.count = self.next = 0

    def update(self, closure):
        """Feed one tracked frame's mean eye closure; return the current depth."""
        self.history[self.next] = closure if closure == closure else 0.0   # NaN: no eye seen
        self.next = (self.next + 1) % self.history.size
        self.count = min(self.count + 1, self.history.size)
        if self.count < self.rank:
            return self.floor
        k = self.count - self.rank
        held = float(np.partition(self.history[:self.count], k)[k])   # the rank-th largest
        return min(BLINK_DEPTH_MAX, max(self.floor, held))

