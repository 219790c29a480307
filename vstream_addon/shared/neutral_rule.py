"""The rule that reads weights from a neutral face: one definition for the tracker and the add-on.

w' = clamp((w - n) / (1 - n), 0, 1) per channel with neutral n: the neutral
reading becomes 0 and a full 1 stays 1 (the range is stretched, not just
shifted, so expressions still reach their full shape). The tracker reads its
weights from the user's resting face with it (tracker_service/calibration.py);
the add-on, from a neutral it captures for senders that do not calibrate
(core/neutral.py). Standard library only; numpy only when given numpy arrays.
"""

from .arkit import NUM_CHANNELS

# A channel already near 1 at rest leaves no range to stretch: cap the
# neutral so (1 - n) never divides by almost nothing.
MAX_NEUTRAL = 0.95


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
    if type(weights).__module__ == "numpy":
        import numpy as np   # only ever given arrays where numpy exists
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
