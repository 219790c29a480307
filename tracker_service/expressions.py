"""ARKit weights from pose-compensated measurements relative to the neutral face.

Each channel is the change of one or two measurements from the user's neutral,
divided by the change a full expression typically makes (FULL_*, in the units
of features.py: vertical distances per eye-to-nose-base height, horizontal per
half eye width). These spans are generic to faces, not tuned per user: the
neutral carries what is personal. docs/EXPRESSIONS.md lists every channel.
"""

import numpy as np

from vstream_addon.shared.arkit import ARKIT_NAMES

from .features import FEATURE_NAMES, INDEX

# Eye closure (eye_closure.py): the mean relative drop of the eye's aspect, contrast
# and iris column from the user's neutral. Looking down or squinting drops them by
# up to about a quarter, a blink by 40% or more.
CLOSURE_START = 0.15     # a smaller drop is no blink at all
CLOSURE_FULL = 0.4       # a drop this large is a closed eye, at the least (calibration.BlinkDepth)
FULL_WIDE = 0.5          # lid gap growth (fraction of rest) for eyeWide 1
FULL_SQUINT = 0.05       # lower lid rise
FULL_BROW_UP = 0.12
FULL_BROW_DOWN = 0.08
FULL_BROW_GAP = 0.06     # inner brows pulled together (frown)
FULL_MOUTH_OPEN = 0.6    # inner lip gap
FULL_JAW = 0.45          # chin drop
FULL_LIP_DROP = 0.6      # lower lip edge drop (it rides on the jaw)
FULL_CORNER_UP = 0.10
FULL_CORNER_DOWN = 0.08
FULL_CORNER_OUT = 0.15
FULL_NARROW = 0.25       # mouth width loss (fraction of rest) for a full pucker
FULL_SHIFT = 0.2
FULL_CHIN_SHIFT = 0.3
FULL_ROLL = 0.6          # lip thickness loss (fraction of rest)
FULL_LIP_RAISE = 0.08
FULL_LIP_LOWER = 0.3
FULL_SNEER = 0.04
FULL_LOOK_SIDE = 0.5     # pupil travel toward a corner, half eye widths
FULL_LOOK_UP = 0.4
FULL_LOOK_DOWN = 0.4
WINK_DIFFERENCE = 0.5    # eyes closing this differently are a wink, not a blink to link


def _clip(v):
    """v clipped to [0, 1] as a float; NaN gives 0. (Comparisons, not min/max: this runs
    some sixty times a frame.)"""
    if v > 0.0:
        return float(v) if v < 1.0 else 1.0
    return 0.0


def weights(f, n, closures, closed=CLOSURE_FULL):
    """{ARKit name: 0..1} from features `f` and neutral `n` (arrays by features.INDEX).
    closures: eye_closures(f, n). closed: the eye closure that reads as a shut eye,
    eyeBlink 1: this user's, from calibration.BlinkDepth."""
    # Python floats: some sixty scalar reads, where numpy scalars cost several times more.
    f, n = np.asarray(f, dtype=np.float64).tolist(), np.asarray(n, dtype=np.float64).tolist()
    g = dict(zip(FEATURE_NAMES, [a - b for a, b in zip(f, n)])).__getitem__   # change from neutral
    rest = lambda name: max(n[INDEX[name]], 1e-6)
    w = dict.fromkeys(ARKIT_NAMES, 0.0)

    for side, Side in (("r", "Right"), ("l", "Left")):
        w["eyeBlink" + Side] = _clip((closures[side] - CLOSURE_START) / (closed - CLOSURE_START))
        closing = -g("eye_open_" + side) / rest("eye_open_" + side)
        w["eyeWide" + Side] = _clip(-closing / FULL_WIDE)
        w["eyeSquint" + Side] = _clip(-g("lower_lid_" + side) / FULL_SQUINT)
        w["browOuterUp" + Side] = _clip(g("brow_outer_" + side) / FULL_BROW_UP)
        brow_down = -(g("brow_inner_" + side) + g("brow_outer_" + side)) / 2.0
        w["browDown" + Side] = _clip(max(brow_down / FULL_BROW_DOWN, -g("brow_gap") / FULL_BROW_GAP))
        w["noseSneer" + Side] = _clip(g("nostril_" + side) / FULL_SNEER)

    # Gaze: h + is toward the subject's left, which is "out" for the left eye and
    # "in" (toward the nose) for the right eye.
    for side, Side, toward_left in (("r", "Right", "In"), ("l", "Left", "Out")):
        away = "Out" if toward_left == "In" else "In"
        h, v = g("gaze_h_" + side), g("gaze_v_" + side)
        w["eyeLook%s%s" % (toward_left, Side)] = _clip(h / FULL_LOOK_SIDE)
        w["eyeLook%s%s" % (away, Side)] = _clip(-h / FULL_LOOK_SIDE)
        w["eyeLookUp" + Side] = _clip(v / FULL_LOOK_UP)
        w["eyeLookDown" + Side] = _clip(-v / FULL_LOOK_DOWN)

    w["browInnerUp"] = _clip((g("brow_inner_r") + g("brow_inner_l")) / 2.0 / FULL_BROW_UP)

    lips_apart = _clip(g("mouth_open") / FULL_MOUTH_OPEN)
    jaw_drop = _clip(g("jaw") / FULL_JAW)
    lip_drop = _clip(g("lower_lip_y") / FULL_LIP_DROP)
    # Parted lips say the jaw is open on any face; chin and lower-lip drop say how far,
    # but only against the user's own neutral (face lengths differ a lot).
    w["jawOpen"] = max(lips_apart, 0.5 * (jaw_drop + lip_drop))
    w["mouthClose"] = _clip(jaw_drop - lips_apart)
    w["jawLeft"] = _clip(g("chin_shift") / FULL_CHIN_SHIFT)
    w["jawRight"] = _clip(-g("chin_shift") / FULL_CHIN_SHIFT)
    w["mouthLeft"] = _clip(g("mouth_shift") / FULL_SHIFT)
    w["mouthRight"] = _clip(-g("mouth_shift") / FULL_SHIFT)

    narrow = -g("mouth_width") / rest("mouth_width") / FULL_NARROW
    w["mouthPucker"] = _clip(narrow * (1.0 - lips_apart * 3.0))
    w["mouthFunnel"] = _clip(narrow * min(1.0, lips_apart * 3.0))

    for side, Side in (("r", "Right"), ("l", "Left")):
        # Opening the jaw drags the corners down: that alone is not a frown.
        up = -(g("corner_y_" + side) - 0.25 * g("jaw")) / FULL_CORNER_UP
        out = g("corner_x_" + side) / FULL_CORNER_OUT
        smile = _clip(0.6 * up + 0.4 * out) if up > 0 else 0.0
        w["mouthSmile" + Side] = smile
        w["mouthFrown" + Side] = _clip(-up * FULL_CORNER_UP / FULL_CORNER_DOWN)
        stretch = _clip(out) * (1.0 - _clip(up))
        w["mouthStretch" + Side] = stretch
        w["mouthDimple" + Side] = 0.5 * stretch
        w["cheekSquint" + Side] = _clip(smile * 0.5 + w["eyeSquint" + Side] * 0.5) if smile > 0.2 else 0.0
        w["mouthLowerDown" + Side] = _clip((g("lower_lip_y") - 0.8 * g("jaw")) / FULL_LIP_LOWER)
        w["mouthUpperUp" + Side] = _clip(-g("upper_lip_y") / FULL_LIP_RAISE)

    closed = 1.0 - _clip(lips_apart * 4.0)
    w["mouthRollUpper"] = _clip(-g("upper_lip") / rest("upper_lip") / FULL_ROLL)
    w["mouthRollLower"] = _clip(-g("lower_lip") / rest("lower_lip") / FULL_ROLL)
    press = closed * min(w["mouthRollUpper"], w["mouthRollLower"])
    w["mouthPressLeft"] = w["mouthPressRight"] = press
    shrug = closed * _clip(-(g("lower_lip_y") - 0.8 * g("jaw")) / FULL_LIP_RAISE)
    w["mouthShrugLower"] = shrug
    w["mouthShrugUpper"] = 0.5 * shrug

    link_eyes(w)
    return w


CLOSURE_CUES = ("eye_aspect_", "eye_contrast_", "iris_column_")


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
    """{"r": closure, "l": closure} of both eyes, for features `f` and neutral `n` (arrays)."""
    f, n = np.asarray(f, dtype=np.float64).tolist(), np.asarray(n, dtype=np.float64).tolist()
    return {side: closure(f, n, side) for side in ("r", "l")}


def link_eyes(w):
    """Both eyes take their mean unless it is clearly a wink: each eye's measurement is
    noisy, and people almost always blink with both."""
    left, right = w["eyeBlinkLeft"], w["eyeBlinkRight"]
    if abs(left - right) < WINK_DIFFERENCE:
        w["eyeBlinkLeft"] = w["eyeBlinkRight"] = (left + right) / 2.0
