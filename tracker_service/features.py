"""Raw facial measurements from 68 landmarks, compensated for head pose.

Points are first rotated so the eye line is level (removes roll). Vertical
distances are then divided by the eye-line-to-nose-base height and horizontal
ones by the same side's eye-corner-to-midline width: both shrink together when
the head pitches or turns, so the ratios stay put and a head turn does not read
as a smile or a blink. The measurements are unitless and still user-specific;
calibration.py turns them into 0..1 weights relative to the user's neutral face.
"""

import math

import numpy as np

FEATURE_NAMES = (
    "eye_open_r", "eye_open_l",        # lid gap
    "lower_lid_r", "lower_lid_l",      # lower lid below the eye line (squint raises it)
    "brow_inner_r", "brow_inner_l",    # inner brow above the eye line
    "brow_outer_r", "brow_outer_l",    # outer brow above the eye line
    "brow_gap",                        # distance between the inner brow ends
    "mouth_open",                      # inner lip gap
    "jaw",                             # nose base to chin
    "mouth_width",
    "corner_y_r", "corner_y_l",        # mouth corner below the nose base (smaller = higher)
    "corner_x_r", "corner_x_l",        # mouth corner out from the midline
    "mouth_shift",                     # lip centre across the midline, + toward the subject's left
    "chin_shift",
    "upper_lip", "lower_lip",          # lip thickness (rolls in = thinner)
    "upper_lip_y", "lower_lip_y",      # outer lip edges below the nose base
    "nostril_r", "nostril_l",          # nostril wing above the nose base (sneer raises it)
    "gaze_h_r", "gaze_v_r",            # pupil in the eye, half eye widths (pupils.py):
    "gaze_h_l", "gaze_v_l",            # h + toward the subject's left, v + up
    "eye_aspect_r", "eye_aspect_l",    # how open each eye looks (eye_closure.py):
    "eye_contrast_r", "eye_contrast_l",  # lid gap per eye width, pixel contrast,
    "iris_column_r", "iris_column_l",  # dark iris column; NaN when not seen
)
NO_EYES = (float("nan"),) * 6
INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}


# The landmarks measure() reads.
USED = (8, 17, 21, 22, 26, 27, 28, 31, 33, 35, *range(36, 49), 51, 54, 57, 62, 66)


def _level(pts, indices):
    """The points `indices` of a list of (x, y) pairs with the outer-eye-corner line
    made horizontal and the origin between the eyes, as {index: x} and {index: y}.
    Plain floats, and only the points measure() needs: numpy's per-call overhead
    would cost more than the arithmetic."""
    (rx, ry), (lx, ly) = pts[36], pts[45]
    roll = math.atan2(ly - ry, lx - rx)
    c, s = math.cos(-roll), math.sin(-roll)
    cx = (pts[36][0] + pts[39][0] + pts[42][0] + pts[45][0]) / 4.0
    cy = (pts[36][1] + pts[39][1] + pts[42][1] + pts[45][1]) / 4.0
    x, y = {}, {}
    for i in indices:
        px, py = pts[i][0] - cx, pts[i][1] - cy
        x[i] = c * px - s * py
        y[i] = s * px + c * py
    return x, y


def measure(points, gaze=(0.0, 0.0, 0.0, 0.0), eyes=NO_EYES):
    """Array of FEATURE_NAMES values for one face's (68, 2) landmarks, its pupil
    offsets (right h, right v, left h, left v) and its eye looks (aspect r, l,
    contrast r, l, iris column r, l: pupils.gaze_offsets)."""
    # Python floats: about a hundred scalar reads, where numpy scalars cost several times more.
    x, y = _level(np.asarray(points, dtype=np.float64).tolist(), USED)
    mid = (x[27] + x[28] + x[33]) / 3.0
    half_r = max(mid - x[36], 1e-6)          # subject's right side width
    half_l = max(x[45] - mid, 1e-6)
    half = (half_r + half_l) / 2.0
    v = max(y[33], 1e-6)                     # eye line (y = 0) to nose base
    eye_r = (y[36] + y[39]) / 2.0
    eye_l = (y[42] + y[45]) / 2.0
    return np.array([
        ((y[41] - y[37]) + (y[40] - y[38])) / (2 * v),
        ((y[47] - y[43]) + (y[46] - y[44])) / (2 * v),
        ((y[40] + y[41]) / 2.0 - eye_r) / v,
        ((y[46] + y[47]) / 2.0 - eye_l) / v,
        (eye_r - y[21]) / v,
        (eye_l - y[22]) / v,
        (eye_r - y[17]) / v,
        (eye_l - y[26]) / v,
        (x[22] - x[21]) / (2 * half),
        (y[66] - y[62]) / v,
        (y[8] - y[33]) / v,
        ((x[54] - mid) / half_l + (mid - x[48]) / half_r) / 2.0,
        (y[48] - y[33]) / v,
        (y[54] - y[33]) / v,
        (mid - x[48]) / half_r,
        (x[54] - mid) / half_l,
        ((x[51] + x[57] + x[62] + x[66]) / 4.0 - mid) / half,
        (x[8] - mid) / half,
        (y[62] - y[51]) / v,
        (y[57] - y[66]) / v,
        (y[51] - y[33]) / v,
        (y[57] - y[33]) / v,
        (y[33] - y[31]) / v,
        (y[33] - y[35]) / v,
        *gaze,
        *eyes,
    ])
