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

from . import quaternions
from ..shared.neutral_rule import MAX_NEUTRAL, clean_neutral, rescale  # noqa: F401 (the add-on's callers)

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


def window_neutral(faces):
    """The neutral of the last WINDOW_SECONDS of `faces` (face frames, oldest first): their mean weights, cleaned."""
    newest = faces[-1].t
    window = [f for f in faces if newest - WINDOW_SECONDS <= f.t <= newest] or [faces[-1]]
    n = len(window)
    return clean_neutral([sum(f.weights[i] for f in window) / n for i in range(len(window[0].weights))])


def relative_rotation(q, q0):
    """q * q0^-1: the rotation since the neutral q0 (both unit (w, x, y, z))."""
    w, x, y, z = quaternions.normalized(q0)
    return quaternions.normalized(quaternions.mul(quaternions.normalized(q), (w, -x, -y, -z)))


def relative_position(p, p0):
    return tuple(float(a) - float(b) for a, b in zip(p, p0))
