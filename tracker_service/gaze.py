"""eyeLook from where the pupils sit in the eyes: the gaze stage.

The pupils' offsets (pupils.py: Timm and Barth's gradient method inside the lid
outline, in half eye widths; h + toward the subject's left, v + up), smoothed
and held through blinks by the pipeline, are read from the user's neutral
(calibration.feature_neutral: where their eyes rest) and scaled: a pupil that
travels FULL_LOOK_SIDE toward a corner, or FULL_LOOK_UP / DOWN, is a full look.

Not the expression model's: the trained reference reads gaze against the camera
and its fitted eyeLook came out about half as strong on real side looks (a clear
look to the side read 0.22-0.45 on the labelled clips, where this reads above 0.5).
"""

from .features import INDEX

FULL_LOOK_SIDE = 0.5     # pupil travel toward a corner, half eye widths
FULL_LOOK_UP = 0.4
FULL_LOOK_DOWN = 0.4


def _clip(v):
    return float(v) if 0.0 < v < 1.0 else (1.0 if v >= 1.0 else 0.0)


def weights(f, n):
    """{eyeLook...: 0..1} from features `f` and their neutral `n` (features.INDEX order)."""
    w = {}
    # h + is toward the subject's left: "out" for the left eye, "in" (toward the nose) for the right.
    for side, Side, toward_left, away in (("r", "Right", "In", "Out"), ("l", "Left", "Out", "In")):
        h = f[INDEX["gaze_h_" + side]] - n[INDEX["gaze_h_" + side]]
        v = f[INDEX["gaze_v_" + side]] - n[INDEX["gaze_v_" + side]]
        w["eyeLook%s%s" % (toward_left, Side)] = _clip(h / FULL_LOOK_SIDE)
        w["eyeLook%s%s" % (away, Side)] = _clip(-h / FULL_LOOK_SIDE)
        w["eyeLookUp" + Side] = _clip(v / FULL_LOOK_UP)
        w["eyeLookDown" + Side] = _clip(-v / FULL_LOOK_DOWN)
    return w
