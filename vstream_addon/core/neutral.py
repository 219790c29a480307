"""The add-on's own neutral: weights and head pose measured from the user's resting face.

Used when the sender does not calibrate itself (protocol
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

from . import arrays, quaternions
from ..shared.arkit import NUM_CHANNELS

# A channel already near 1 at rest leaves no range to stretch: cap the
# neutral so (1 - n) never divides by almost nothing.
MAX_NEUTRAL = 0.95
# A neutral capture averages the face frames of the last WINDOW_SECONDS
# (sender time), so one noisy frame does not become the neutral.
WINDOW_SECONDS = 0.25
WINDOW_FRAMES = 240  # frames kept for it: the window at up to 960 fps

# Who measures the neutral when the user presses Calibrate.
CALIBRATE_AUTO = 'AUTO'      # the frames' FLAG_SENDER_CALIBRATES decides
CALIBRATE_SENDER = 'SENDER'  # always the sender's job (send the control datagram only)
CALIBRATE_ADDON = 'ADDON'    # always capture the neutral here


def sender_calibrates(mode, last_face):
    """True when the sender, not the add-on, measures the neutral (mode: CALIBRATE_*)."""
    if mode == CALIBRATE_SENDER:
        return True
    if mode == CALIBRATE_ADDON:
        return False
    return bool(last_face is not None and last_face.sender_calibrates)


def clean_neutral(weights):
    """52 neutral values in 0..MAX_NEUTRAL from any sequence (non-finite -> 0)."""
    values = [float(v) for v in weights]
    if len(values) != NUM_CHANNELS:
        raise ValueError("neutral needs %d weights, got %d" % (NUM_CHANNELS, len(values)))
    return [min(MAX_NEUTRAL, v) if v > 0.0 else 0.0 for v in values]


def window_neutral(faces):
    """The neutral of the last WINDOW_SECONDS of `faces` (face frames, oldest first): their mean weights, cleaned."""
    newest = faces[-1].t
    window = [f for f in faces if newest - WINDOW_SECONDS <= f.t <= newest] or [faces[-1]]
    n = len(window)
    return clean_neutral([sum(f.weights[i] for f in window) / n for i in range(len(window[0].weights))])


def rescale(weights, neutral):
    """Weights measured from `neutral` (clean_neutral output), each in 0..1.

    `weights` is one frame's sequence, or a numpy array of frames x channels
    (a whole take, as the bake does it): the same formula per element, NaN -> 0.
    """
    np = arrays.np
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


def relative_rotation(q, q0):
    """q * q0^-1: the rotation since the neutral q0 (both unit (w, x, y, z))."""
    w, x, y, z = quaternions.normalized(q0)
    return quaternions.normalized(quaternions.mul(quaternions.normalized(q), (w, -x, -y, -z)))


def relative_position(p, p0):
    return tuple(float(a) - float(b) for a, b in zip(p, p0))
