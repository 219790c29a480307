"""The add-on's own neutral: weights and head pose measured from the user's resting face.

Pure Python. Used when the sender does not calibrate itself (protocol
FLAG_SENDER_CALIBRATES clear) or the user asks the add-on to: a sender that
streams raw weights (a phone app, another tracker) often reads 0.2 for a
resting mouth, which would hold every avatar's mouth a little open.

Weights: w' = clamp((w - n) / (1 - n), 0, 1) per channel with neutral n, so
the neutral reading becomes 0 and a full 1 stays 1 (the range is stretched,
not just shifted, so expressions still reach their full shape).

Head: the neutral rotation q0 and position p0 are taken out, so the pose the
user held when capturing becomes the avatar's rest pose:
q' = q * q0^-1 (the turn since neutral, in the avatar frame), p' = p - p0.
"""

import math

try:
    import numpy as np
except ImportError:  # see recorder.py: a system-Python Blender may lack numpy
    np = None

from .quaternions import quat_mul
from ..shared.arkit import NUM_CHANNELS

# A channel already near 1 at rest leaves no range to stretch: cap the
# neutral so (1 - n) never divides by almost nothing.
MAX_NEUTRAL = 0.95
IDENTITY = (1.0, 0.0, 0.0, 0.0)


def clean_neutral(weights):
    """52 neutral values in 0..MAX_NEUTRAL from any sequence (non-finite -> 0)."""
    values = [float(v) for v in weights]
    if len(values) != NUM_CHANNELS:
        raise ValueError("neutral needs %d weights, got %d" % (NUM_CHANNELS, len(values)))
    return [min(MAX_NEUTRAL, v) if v > 0.0 else 0.0 for v in values]


def rescale(weights, neutral):
    """Weights measured from `neutral` (clean_neutral output), each in 0..1.

    `weights` is one frame's sequence, or a numpy array of frames x channels
    (a whole take, as the bake does it): the same formula per element, NaN -> 0.
    """
    if np is not None and isinstance(weights, np.ndarray):
        n = np.asarray(neutral, dtype=np.float64)
        # Channels with n = 0 divide by 1: the same value, as the loop's skip gives.
        w = (weights - n) / (1.0 - n)
        with np.errstate(invalid="ignore"):
            return np.where(w > 0.0, np.where(w > 1.0, 1.0, w), 0.0)
    out = []
    for w, n in zip(weights, neutral):
        if n > 0.0:
            w = (w - n) / (1.0 - n)
        out.append(0.0 if not w > 0.0 else (1.0 if w > 1.0 else w))
    return out


def normalized(q):
    # Spelled out (not sum() over a generator): the same additions in the same
    # order, three times faster, and the bake calls this a few times a frame.
    w, x, y, z = q
    n = math.sqrt(w * w + x * x + y * y + z * z)
    if not math.isfinite(n) or n < 1e-9:
        return IDENTITY
    return (float(w) / n, float(x) / n, float(y) / n, float(z) / n)


def relative_rotation(q, q0):
    """q * q0^-1: the rotation since the neutral q0 (both unit (w, x, y, z))."""
    w, x, y, z = normalized(q0)
    return normalized(quat_mul(normalized(q), (w, -x, -y, -z)))


def relative_position(p, p0):
    return tuple(float(a) - float(b) for a, b in zip(p, p0))


def quat_power(q, t):
    """q^t: the same axis, t times the angle (shortest way round); t in 0..1 splits a turn."""
    w, x, y, z = normalized(q)
    if w < 0.0:
        w, x, y, z = -w, -x, -y, -z
    s = math.sqrt(x * x + y * y + z * z)
    if s < 1e-12:
        return IDENTITY
    half = math.atan2(s, w) * t
    k = math.sin(half) / s
    return (math.cos(half), x * k, y * k, z * k)
